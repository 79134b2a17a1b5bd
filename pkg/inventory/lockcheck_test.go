package inventory

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/imgctl/imgctl/pkg/lock"
)

func TestCheckLock(t *testing.T) {
	l := &lock.Lock{Platforms: map[string]*lock.Packages{
		"linux/amd64": {Apt: []lock.AptPackage{{Name: "jq", Version: "1.6", Arch: "amd64"}}, Pip: []lock.Dist{{Name: "acme-demo", Version: "1.0"}}},
		"linux/arm64": {Apt: []lock.AptPackage{{Name: "jq", Version: "1.6", Arch: "arm64"}}},
	}}
	v := &Version{Platforms: []Platform{
		{Platform: "linux/amd64", SBOM: true, Packages: []Package{{Ecosystem: Deb, Name: "jq", Version: "1.6"}, {Ecosystem: Python, Name: "acme_demo", Version: "1.0"}}},
		{Platform: "linux/arm64", SBOM: true, Packages: []Package{{Ecosystem: Deb, Name: "jq", Version: "1.5"}}},
	}}
	assert.Equal(t, []string{"linux/arm64: apt jq is locked at 1.6, the SBOM has [1.5]"}, CheckLock(v, l))
	v.Platforms[0].Packages = v.Platforms[0].Packages[:1]
	v.Platforms[1].SBOM = false
	assert.Equal(t, []string{
		"linux/amd64: pip acme-demo 1.0 is locked but not in the SBOM",
		"linux/arm64: no SBOM to check the lock against",
	}, CheckLock(v, l))
}
