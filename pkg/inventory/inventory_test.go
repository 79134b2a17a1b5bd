package inventory_test

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/pkg/attest"
	"github.com/imgctl/imgctl/pkg/inventory"
	it "github.com/imgctl/imgctl/pkg/inventory/inventorytest"
)

func TestCompare(t *testing.T) {
	for _, c := range []struct {
		eco, a, b string
		want      int
	}{
		{inventory.Deb, "2.36-9+deb12u4", "2.36-9+deb12u7", -1},
		{inventory.Deb, "1:1.0", "2.0", 1},        // epoch wins
		{inventory.Deb, "1.0~rc1-1", "1.0-1", -1}, // ~ sorts first
		{inventory.Deb, "1.26.4+ds-2", "1.24.2-1", 1},
		{inventory.Python, "1.0rc1", "1.0", -1},
		{inventory.Python, "2.0.post1", "2.0", 1},
		{inventory.Python, "1.10.0", "1.9.3", 1},
		{inventory.R, "1.2-10", "1.2-9", 1},
		{inventory.R, "3.5.1", "3.5.1", 0},
		{inventory.R, "0.9", "0.10", -1},
		{inventory.Other, "v1.2.3", "1.10.0", -1},
		{inventory.Other, "not-a-version", "1.0", 1}, // unparsable after parsable
		{inventory.Deb, "!!", "??", -1},              // text when neither parses
	} {
		assert.Equal(t, c.want, inventory.Compare(c.eco, c.a, c.b), "%s %s vs %s", c.eco, c.a, c.b)
		assert.Equal(t, -c.want, inventory.Compare(c.eco, c.b, c.a), "%s %s vs %s (swapped)", c.eco, c.b, c.a)
	}
}

func TestClassify(t *testing.T) {
	got := inventory.Classify([]attest.Package{
		{Name: "numpy", Version: "1.26.4", PURL: "pkg:pypi/numpy@1.26.4"},
		{Name: "libc6", Version: "2.36-9", PURL: "pkg:deb/debian/libc6@2.36-9?arch=amd64"},
		{Name: "bsdutils", Version: "1:2.38.1-5+deb12u3", PURL: "pkg:deb/debian/bsdutils@1%3A2.38.1-5%2Bdeb12u3?arch=amd64&distro=debian-12.15&upstream=util-linux%402.38.1-5%2Bdeb12u3"},
		{Name: "bash", Version: "5.2.15-2+b13", PURL: "pkg:deb/debian/bash@5.2.15-2%2Bb13?arch=amd64&distro=debian-12.15&upstream=bash%405.2.15-2"},
		{Name: "ggplot2", Version: "3.4.1", PURL: "pkg:cran/ggplot2@3.4.1"},
		{Name: "left-pad", Version: "1.3.0", PURL: "pkg:npm/left-pad@1.3.0"},
		{Name: "mystery", Version: "1"},
		{Name: "libfoo", Version: "1.0-1", SourceInfo: "acquired package info from DPKG DB: /var/lib/dpkg/status"}, // no os-release, no purl
		{Name: "rprobe", Version: "1.2-3", SourceInfo: "acquired package info from R-package DESCRIPTION file: /usr/lib/R/site-library/rprobe/DESCRIPTION"},
		{Name: "numpy", Version: "1.26.4", PURL: "pkg:pypi/numpy@1.26.4"}, // found twice
		{Name: "", Version: "", PURL: ""}, // the scanned root
	})
	assert.Equal(t, []inventory.Package{
		{Ecosystem: "deb", Name: "bash", Version: "5.2.15-2+b13", Distro: "debian-12.15", SourceVersion: "5.2.15-2"},
		{Ecosystem: "deb", Name: "bsdutils", Version: "1:2.38.1-5+deb12u3", Distro: "debian-12.15", Source: "util-linux", SourceVersion: "2.38.1-5+deb12u3"},
		{Ecosystem: "deb", Name: "libc6", Version: "2.36-9"},
		{Ecosystem: "deb", Name: "libfoo", Version: "1.0-1"},
		{Ecosystem: "python", Name: "numpy", Version: "1.26.4"},
		{Ecosystem: "R", Name: "ggplot2", Version: "3.4.1"},
		{Ecosystem: "R", Name: "rprobe", Version: "1.2-3", OS: true},
		{Ecosystem: "other", Name: "left-pad", Version: "1.3.0", Type: "npm"},
		{Ecosystem: "other", Name: "mystery", Version: "1"},
	}, got)
}

func TestRead(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	repo := strings.TrimPrefix(srv.URL, "http://") + "/datasci/python3"
	cfg := v1.Config{Env: []string{"PATH=/usr/bin"}, User: "1000", WorkingDir: "/home/user",
		ExposedPorts: map[string]struct{}{"8888/tcp": {}}, Labels: map[string]string{"team": "ds"}}
	d := it.Push(t, repo+":2026.11.24", it.Version{
		Annotations: map[string]string{"org.opencontainers.image.base.name": "reg/datasci/base:2026.11.01"},
		Platforms: []it.Platform{
			{Platform: "linux/amd64", Layers: []string{"aaaa", "bbbbbbbb"}, Config: cfg,
				Packages: []it.Package{it.Deb("libc6", "2.36-9"), it.Py("numpy", "1.26.4")}},
			{Platform: "linux/arm64", Layers: []string{"cc"}, Config: cfg,
				Packages: []it.Package{it.Deb("libc6", "2.36-9"), it.Py("numpy", "1.26.4"), it.R("ggplot2", "3.4.1")}},
		},
	})
	ref, err := name.NewDigest(repo+"@"+d, name.Insecure)
	require.NoError(t, err)

	v, err := inventory.Read(context.Background(), ref, inventory.Options{Config: true, Packages: true})
	require.NoError(t, err)
	assert.Equal(t, d, v.Digest)
	assert.Equal(t, "reg/datasci/base:2026.11.01", v.Annotations["org.opencontainers.image.base.name"])
	require.Len(t, v.Platforms, 2)
	amd := v.Platform("linux/amd64")
	require.NotNil(t, amd)
	assert.Equal(t, 2, amd.Layers)
	assert.Greater(t, amd.Size, int64(12), "config and layers")
	assert.Equal(t, &inventory.Config{Env: []string{"PATH=/usr/bin"}, User: "1000", WorkingDir: "/home/user",
		Ports: []string{"8888/tcp"}, Labels: map[string]string{"team": "ds"}}, amd.Config)
	assert.True(t, v.HasPackages())
	assert.Equal(t, []inventory.Package{
		{Ecosystem: "deb", Name: "libc6", Version: "2.36-9"},
		{Ecosystem: "python", Name: "numpy", Version: "1.26.4"},
		{Ecosystem: "R", Name: "ggplot2", Version: "3.4.1"},
	}, v.Packages(), "merged over platforms")

	// Without the options only manifests are read.
	bare, err := inventory.Read(context.Background(), ref, inventory.Options{})
	require.NoError(t, err)
	assert.Nil(t, bare.Platform("linux/amd64").Config)
	assert.Nil(t, bare.Platform("linux/amd64").Packages)
	assert.False(t, bare.Platform("linux/amd64").SBOM, "attestations not read")
	assert.Equal(t, amd.Size, bare.Platform("linux/amd64").Size)
	assert.Equal(t, []string{"linux/amd64", "linux/arm64"}, []string{bare.Platforms[0].Platform, bare.Platforms[1].Platform})

	// A platform without an SBOM: the version has no complete package list.
	d2 := it.Push(t, repo+":2026.11.25", it.Version{Platforms: []it.Platform{
		{Platform: "linux/amd64", Layers: []string{"x"}, Packages: []it.Package{it.Deb("libc6", "2.36-9")}},
		{Platform: "linux/arm64", Layers: []string{"y"}},
	}})
	ref2, _ := name.NewDigest(repo+"@"+d2, name.Insecure)
	v2, err := inventory.Read(context.Background(), ref2, inventory.Options{Packages: true})
	require.NoError(t, err)
	assert.False(t, v2.HasPackages())
}

// TestReadCache: two versions sharing a platform image read its manifest
// and SBOM once.
func TestReadCache(t *testing.T) {
	var mu sync.Mutex
	gets := map[string]int{}
	h := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			mu.Lock()
			gets[r.URL.Path]++
			mu.Unlock()
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	repo := strings.TrimPrefix(srv.URL, "http://") + "/datasci/python3"
	plat := it.Platform{Platform: "linux/amd64", Layers: []string{"aaaa"}, Packages: []it.Package{it.Deb("libc6", "2.36-9")}}
	d1 := it.Push(t, repo+":2026.11.24", it.Version{Annotations: map[string]string{"v": "1"}, Platforms: []it.Platform{plat}})
	d2 := it.Push(t, repo+":2026.11.25", it.Version{Annotations: map[string]string{"v": "2"}, Platforms: []it.Platform{plat}})
	require.NotEqual(t, d1, d2)
	cache := &inventory.Cache{}
	var vs []*inventory.Version
	for _, d := range []string{d1, d2} {
		ref, err := name.NewDigest(repo+"@"+d, name.Insecure)
		require.NoError(t, err)
		v, err := inventory.Read(context.Background(), ref, inventory.Options{Packages: true, Cache: cache})
		require.NoError(t, err)
		vs = append(vs, v)
	}
	assert.Equal(t, vs[0].Platforms, vs[1].Platforms)
	pd := vs[0].Platforms[0].Digest
	assert.Equal(t, 1, gets["/v2/datasci/python3/manifests/"+pd], "the shared platform manifest is read once: %v", gets)
}

// An installed size is not part of a package's identity: platforms listing
// one package with different sizes (amd64 and arm64 builds) merge into one
// entry with the larger size.
func TestPackagesMergeSizes(t *testing.T) {
	v := &inventory.Version{Platforms: []inventory.Platform{
		{Platform: "linux/amd64", SBOM: true, Packages: []inventory.Package{{Ecosystem: "deb", Name: "libc6", Version: "2.36-9", Size: 13_000_000}}},
		{Platform: "linux/arm64", SBOM: true, Packages: []inventory.Package{{Ecosystem: "deb", Name: "libc6", Version: "2.36-9", Size: 12_000_000}}},
	}}
	assert.Equal(t, []inventory.Package{{Ecosystem: "deb", Name: "libc6", Version: "2.36-9", Size: 13_000_000}}, v.Packages())
}
