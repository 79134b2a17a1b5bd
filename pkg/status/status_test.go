package status_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/pkg/published"

	"github.com/imgctl/imgctl/internal/goldentest"

	"github.com/imgctl/imgctl/pkg/inventory"
	"github.com/imgctl/imgctl/pkg/lifecycle"
	"github.com/imgctl/imgctl/pkg/lock"
	"github.com/imgctl/imgctl/pkg/regclient"
	"github.com/imgctl/imgctl/pkg/spec"
	"github.com/imgctl/imgctl/pkg/status"
	"github.com/imgctl/imgctl/pkg/verify"
	"github.com/imgctl/imgctl/pkg/vulns"
)

// fake serves tags, manifests (by digest) and markers from maps.
type fake struct {
	tags    map[string]map[string]string // repo -> tag -> digest
	ann     map[string]map[string]string // digest -> annotations
	markers map[string][]lifecycle.Marker
	// foreign digests carry no imgctl content key; missing ones are
	// listed tags whose manifests are gone.
	foreign, missing map[string]bool
	listCalls        int
}

func (f *fake) ListTags(_ context.Context, repo string) ([]string, error) {
	f.listCalls++
	var out []string
	for t := range f.tags[repo] {
		out = append(out, t)
	}
	return out, nil
}

func (f *fake) Manifest(_ context.Context, ref string) (*published.Manifest, error) {
	i := strings.LastIndex(ref, ":")
	d, ok := f.tags[ref[:i]][ref[i+1:]]
	if !ok {
		return nil, regclient.ErrNotFound
	}
	// Versions from the 24th on are indexes for two platforms; older
	// ones single manifests.
	var plats []string
	if v := ref[i+1:]; v >= "2026.11.24" && v != "latest" || v == "latest" && d >= "sha256:4" {
		plats = []string{"linux/amd64", "linux/arm64"}
	}
	if f.missing[d] {
		return nil, fmt.Errorf("%s: %w", ref, regclient.ErrNotFound)
	}
	ann := map[string]string{}
	if !f.foreign[d] {
		ann[published.AnnotationContentKey] = "key-" + d
	}
	for k, v := range f.ann[d] {
		ann[k] = v
	}
	return &published.Manifest{Digest: d, Annotations: ann, Platforms: plats}, nil
}

func (f *fake) Markers(_ context.Context, repo, digest string, _ []string) ([]lifecycle.Marker, error) {
	return f.markers[repo+"@"+digest], nil
}

func dg(c string) string { return "sha256:" + strings.Repeat(c, 64) }

// trust says versions from the 24th on are signed with an SBOM and
// provenance for every platform, except team@dg(4), whose arm64 SBOM is
// missing; older ones are unsigned single manifests.
type trust struct{}

func (trust) Check(_ context.Context, ref name.Digest, _ string) (*verify.Report, error) {
	r := &verify.Report{Ref: ref.String(), Signature: verify.SignatureMissing}
	switch d := ref.DigestStr(); {
	case d == dg("2") || d == dg("4") || d == dg("5"):
		r.Signature = verify.SignaturePresent
		r.Platforms = []verify.Platform{{Platform: "linux/amd64", SBOM: true, Provenance: true}, {Platform: "linux/arm64", SBOM: d != dg("4"), Provenance: true}}
	}
	return r, nil
}

// inv serves sizes (from the digest's character) and, for py@dg(2) and
// team@dg(5), packages; old@dg(6) has no SBOM.
type inv struct{}

func (inv) Read(_ context.Context, ref name.Digest, o inventory.Options) (*inventory.Version, error) {
	d := ref.DigestStr()
	n := int64(d[len("sha256:")]-'0') * 10_000_000
	v := &inventory.Version{Digest: d}
	plats := []string{"linux/amd64"}
	if d >= dg("2") && d != dg("3") && d != dg("6") {
		plats = append(plats, "linux/arm64")
	}
	for i, p := range plats {
		ip := inventory.Platform{Platform: p, Size: n + int64(i)*1_500_000}
		if o.Packages && (d == dg("2") || d == dg("5")) {
			ip.SBOM = true
			ip.Packages = []inventory.Package{{Ecosystem: "deb", Name: "libc6", Version: "2.36-9"}, {Ecosystem: "python", Name: "numpy", Version: "1.26.4"}}
			if d == dg("5") {
				// Built from a lock of ggplot2; a run: step added
				// setuptools; six is a Debian package's files.
				ip.Packages = append(ip.Packages, inventory.Package{Ecosystem: "R", Name: "ggplot2", Version: "3.4.4"},
					inventory.Package{Ecosystem: "python", Name: "setuptools", Version: "66.1.1"},
					inventory.Package{Ecosystem: "python", Name: "six", Version: "1.16.0", OS: true})
				v.Annotations = map[string]string{published.AnnotationLock: teamLock.Compact(),
					published.AnnotationBaseName: "r.test/ds/py:2026.11.24", published.AnnotationBaseDigest: dg("2")}
			}
		}
		v.Platforms = append(v.Platforms, ip)
	}
	return v, nil
}

// counter says team@dg(5) has one high finding and one ignored, the
// other versions none.
type counter struct{}

func (counter) Counts(_ context.Context, image, _, _, digest string) (vulns.Counts, error) {
	if digest == dg("5") {
		return vulns.Counts{High: 1, Ignored: 1}, nil
	}
	return vulns.Counts{}, nil
}

var teamLock = &lock.Lock{FormatVersion: "1", Image: "team", Inputs: dg("c"), Platforms: map[string]*lock.Packages{
	"linux/amd64": {R: []lock.Dist{{Name: "ggplot2", Version: "3.4.4", URL: "http://cran.test/src/contrib/ggplot2_3.4.4.tar.gz", SHA256: strings.Repeat("e", 64)}}},
	"linux/arm64": {R: []lock.Dist{{Name: "ggplot2", Version: "3.4.4", URL: "http://cran.test/src/contrib/ggplot2_3.4.4.tar.gz", SHA256: strings.Repeat("e", 64)}}},
}}

func TestReportGolden(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "lib.cue"), []byte(`package lib
registry: "r.test/ds"
images: py: {from: "debian:12", family: "python3"}
images: team: {parent: "py", team: "marketing", family: "python3"}
images: old: {parent: "py", deprecated: {reason: "merged into team", replacement: "team"}}
images: never: {parent: "py"}
`), 0o644))
	lib, err := spec.Load(dir)
	require.NoError(t, err)
	const r = "r.test/ds/"
	f := &fake{
		tags: map[string]map[string]string{
			r + "py":   {"2026.11.01": dg("1"), "2026.11.24": dg("2"), "latest": dg("2"), "2026.11.01-deprecated": dg("1"), "sha256-" + strings.Repeat("1", 64): dg("9")},
			r + "team": {"2026.11.01": dg("3"), "2026.11.24": dg("4"), "2026.11.24.1": dg("5"), "latest": dg("5")},
			r + "old":  {"2026.11.01": dg("6"), "latest": dg("6")},
			// What a team had before imgctl: never listed as versions.
			r + "never": {"latest": dg("7"), "v1": dg("7"), "2026.12.07": dg("8"), "2026.12.01": dg("0"), "0.1.0": dg("b")},
		},
		foreign: map[string]bool{dg("7"): true, dg("8"): true, dg("b"): true},
		missing: map[string]bool{dg("0"): true},
		ann: map[string]map[string]string{
			dg("3"): {published.AnnotationBaseDigest: dg("1"), published.AnnotationBaseName: r + "py"},
			dg("4"): {published.AnnotationBaseDigest: dg("2"), published.AnnotationBaseName: r + "py"},
			dg("5"): {published.AnnotationBaseDigest: dg("2"), published.AnnotationBaseName: r + "py"},
			dg("6"): {published.AnnotationBaseDigest: dg("1"), published.AnnotationBaseName: r + "py"},
			dg("1"): {published.AnnotationBaseDigest: dg("a"), published.AnnotationBaseName: "index.docker.io/library/debian"},
		},
		markers: map[string][]lifecycle.Marker{
			r + "py@" + dg("1"):   {{EndOfLife: "2026-12-24", Date: "2026-11-24", Reason: "superseded by 2026.11.24", SupersededByTag: "2026.11.24", SupersededByDigest: dg("2")}},
			r + "team@" + dg("3"): {{EndOfLife: "2026-12-24", Date: "2026-11-24", Reason: "superseded by 2026.11.24", SupersededByTag: "2026.11.24", SupersededByDigest: dg("4")}},
			r + "team@" + dg("4"): {{EndOfLife: "2026-12-24", Date: "2026-11-24", Reason: "superseded by 2026.11.24.1", SupersededByTag: "2026.11.24.1", SupersededByDigest: dg("5")}},
			r + "old@" + dg("6"):  {{EndOfLife: "2026-12-10", Date: "2026-11-10", Reason: "retired: merged into team", Replacement: "team"}},
		},
	}
	rep, err := status.Collect(context.Background(), lib, f, status.Options{Jobs: 3, Trust: trust{}, Inventory: inv{}})
	require.NoError(t, err)
	var text, js bytes.Buffer
	require.NoError(t, rep.WriteText(&text))
	require.NoError(t, rep.WriteJSON(&js))
	goldentest.Check(t, "status.txt", text.Bytes())
	goldentest.Check(t, "status.json", js.Bytes())

	// With a feed: each version's findings by severity.
	vr, err := status.Collect(context.Background(), lib, f, status.Options{Names: []string{"team"}, Jobs: 2, Vulns: counter{}})
	require.NoError(t, err)
	var vt, vj bytes.Buffer
	require.NoError(t, vr.WriteText(&vt))
	require.NoError(t, vr.WriteJSON(&vj))
	goldentest.Check(t, "status-vulns.txt", vt.Bytes())
	assert.Contains(t, vj.String(), `"vulnerabilities": {
            "critical": 0,
            "high": 1,`)

	one, err := status.Collect(context.Background(), lib, f, status.Options{Names: []string{"team"}, Jobs: 1})
	require.NoError(t, err)
	require.Len(t, one.Images, 1)
	assert.Equal(t, "py", one.Images[0].Versions[0].BuiltOn.Image, "parents are read to name the version built on")

	_, err = status.Collect(context.Background(), lib, f, status.Options{Names: []string{"nope"}})
	assert.ErrorContains(t, err, `no image "nope"`)

	// --packages: the latest version's, or the one asked for.
	pk, err := status.Collect(context.Background(), lib, f, status.Options{Names: []string{"py", "team", "old"}, Jobs: 2, Inventory: inv{}, Packages: true})
	require.NoError(t, err)
	var pkText bytes.Buffer
	require.NoError(t, pk.WritePackages(&pkText))
	goldentest.Check(t, "packages.txt", pkText.Bytes())
	_, err = status.Collect(context.Background(), lib, f, status.Options{Names: []string{"team"}, Inventory: inv{}, Packages: true, PackagesOf: "2026.10.01"})
	assert.ErrorContains(t, err, "no version 2026.10.01 (its versions: 2026.11.24.1, 2026.11.24, 2026.11.01)")
}

// What the next prune deletes shows in the version's status and JSON.
func TestSetPrune(t *testing.T) {
	r := &status.Report{FormatVersion: status.FormatVersion, Registry: "r.test/ds", Images: []status.Image{{
		Name: "base", Repository: "r.test/ds/base",
		Versions: []status.Version{
			{Version: "2026.02.01", Digest: "sha256:bbbbbbbbbbbbbbbbbbbb", Latest: true},
			{Version: "2026.01.01", Digest: "sha256:aaaaaaaaaaaaaaaaaaaa", Deprecated: true, EndOfLife: "2026-02-01", SupersededBy: "2026.02.01"},
		},
	}}}
	r.SetPrune(map[string]map[string]string{"r.test/ds/base": {"2026.01.01": "end of life 2026-02-01 + 90 days passed on 2026-05-02"}})
	var text, js bytes.Buffer
	require.NoError(t, r.WriteText(&text))
	require.NoError(t, r.WriteJSON(&js))
	assert.Contains(t, text.String(), "deprecated, end of life 2026-02-01, superseded by 2026.02.01; next prune deletes it (unless in use): end of life 2026-02-01 + 90 days passed on 2026-05-02")
	assert.Contains(t, js.String(), `"prune": "end of life 2026-02-01 + 90 days passed on 2026-05-02"`)
	assert.NotContains(t, strings.SplitN(text.String(), "2026.01.01", 2)[0], "next prune")
}
