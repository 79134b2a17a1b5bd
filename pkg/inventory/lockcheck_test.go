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

func TestUnlocked(t *testing.T) {
	l := &lock.Lock{Platforms: map[string]*lock.Packages{
		"linux/amd64": {Apt: []lock.AptPackage{{Name: "jq", Version: "1.6", Arch: "amd64"}}, Pip: []lock.Dist{{Name: "acme-demo", Version: "1.0"}}},
	}}
	base := &Version{Platforms: []Platform{
		{Platform: "linux/amd64", SBOM: true, Packages: []Package{{Ecosystem: Deb, Name: "libc6", Version: "2.36"}}},
		{Platform: "linux/arm64", SBOM: false},
	}}
	v := &Version{Platforms: []Platform{
		{Platform: "linux/amd64", SBOM: true, Packages: []Package{
			{Ecosystem: Deb, Name: "libc6", Version: "2.36"},                // the base's
			{Ecosystem: Deb, Name: "jq", Version: "1.6"},                    // locked
			{Ecosystem: Python, Name: "acme_demo", Version: "1.0"},          // locked (PEP 503)
			{Ecosystem: Python, Name: "numpy", Version: "1.24.2", OS: true}, // a deb's files
			{Ecosystem: Deb, Name: "curl", Version: "7.88"},                 // run: apt-get install curl
			{Ecosystem: Python, Name: "Setup_Tools", Version: "66.1"},       // run: python3 -m venv
			{Ecosystem: Other, Type: "golang", Name: "mc", Version: "1.2"},
			{Ecosystem: Other, Name: "cli-32", Version: "UNKNOWN"}, // setuptools' launcher.exe: no package URL
		}},
		{Platform: "linux/arm64", SBOM: true, Packages: []Package{{Ecosystem: Deb, Name: "curl", Version: "7.88"}}},
	}}
	got, unknown := Unlocked(v, base, l)
	assert.Equal(t, []lock.Unlocked{
		{Platform: "linux/amd64", Ecosystem: "apt", Name: "curl", Version: "7.88"},
		{Platform: "linux/amd64", Ecosystem: "pip", Name: "setup-tools", Version: "66.1"},
		{Platform: "linux/amd64", Ecosystem: "golang", Name: "mc", Version: "1.2"},
	}, got)
	assert.Equal(t, []string{"linux/arm64: its base has no SBOM"}, unknown)
	assert.Equal(t, "3 packages a run: step installed outside the lock: apt curl 7.88, pip setup-tools 66.1, … 1 more",
		lock.UnlockedSummary(got, 2))

	// FROM scratch: everything not locked is unlocked; a version without
	// an SBOM cannot be told.
	v.Platforms[1].SBOM = false
	got, unknown = Unlocked(v, nil, l)
	assert.Len(t, got, 4)
	assert.Equal(t, []string{"linux/arm64: the version has no SBOM"}, unknown)
}

func TestOSOwned(t *testing.T) {
	for info, want := range map[string]bool{
		"acquired package info from installed python package manifest file: /usr/lib/python3/dist-packages/pip-23.0.1.dist-info/METADATA, /usr/lib/python3/dist-packages/pip-23.0.1.dist-info/RECORD": true,
		"acquired package info from installed python package manifest file: /usr/local/lib/python3.11/dist-packages/acme_demo-1.0.dist-info/METADATA":                                                 false,
		"acquired package info from installed python package manifest file: /opt/venv/lib/python3.11/site-packages/pip-23.0.1.dist-info/METADATA":                                                     false,
		"acquired package info from R-package DESCRIPTION file: /usr/lib/R/library/stats/DESCRIPTION":                                                                                                 true,
		"acquired package info from R-package DESCRIPTION file: /usr/local/lib/R/site-library/acmeR/DESCRIPTION":                                                                                      false,
		"": false,
	} {
		assert.Equal(t, want, osOwned(info), info)
	}
	// One copy outside the OS's tree keeps the package unlocked-able.
	ps := sortUnique([]Package{{Ecosystem: Python, Name: "pip", Version: "23", OS: true}, {Ecosystem: Python, Name: "pip", Version: "23"}})
	assert.Equal(t, []Package{{Ecosystem: Python, Name: "pip", Version: "23"}}, ps)
}
