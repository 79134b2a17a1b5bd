package cli

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/internal/e2etest"
	"github.com/imgctl/imgctl/pkg/inventory"
	"github.com/imgctl/imgctl/pkg/lock"
	"github.com/imgctl/imgctl/pkg/vulndb/vulndbtest"
)

// lockLib is a two-level library: a Debian root on two platforms adding
// jq, and a Python image on it adding pip and a distribution from the
// test's index.
const lockLib = `package lib

registry: "REGISTRY/lk"
images: base: {
	from:      "scratch"
	platforms: ["linux/amd64", "linux/arm64"]
	rootfs: {"linux/amd64": "debian-amd64.tar", "linux/arm64": "debian-arm64.tar"}
	env: PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	apt: ["jq"]
}
images: py: {
	parent:    "base"
	platforms: ["linux/amd64"]
	apt: ["python3-pip"]
	pip: {index: "INDEX/simple/", packages: ["acme-demo"]}
	env: GREETING: "one"
	versionTags: {acme: "pip:acme-demo", jq: "jq"}
	// A distribution installed outside the lock: listed as unlocked.
	run: ["d=/usr/local/lib/python3.11/dist-packages/handmade-0.1.dist-info && mkdir -p $d && printf 'Metadata-Version: 2.1\\nName: handmade\\nVersion: 0.1\\n' > $d/METADATA"]
}
`

// TestLockedEnvironments locks a library against the Debian mirror and a
// wheel index on loopback, publishes it, and checks the SBOM of every
// platform against the lock; then the index moves on (nothing to do, a
// rebuild still installs the locked version), --upgrade moves the lock
// and plan shows the change before building, a wheel replaced with other
// bytes fails the publish with no tag moved, a child that needs a newer
// version than its parent locked is a conflict, a stale lock fails
// --check, and policy.lock "required" refuses an unlocked image.
func TestLockedEnvironments(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("end-to-end")
	}
	e2etest.RequirePlatforms(t, useBuildKit(t), "linux/arm64")
	amd, arm := e2etest.DebianRootfsFor(t, "amd64"), e2etest.DebianRootfsFor(t, "arm64")
	for _, mode := range []string{"distribution", "referrers"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			reg := e2etest.Registry(t)
			if mode == "referrers" {
				reg = e2etest.InProcessRegistry(t, true)
			}
			idx := e2etest.ServeWheels(t)
			idx.Add(t, "acme-demo", "1.0")
			dir := t.TempDir()
			e2etest.LinkOrCopy(t, amd, filepath.Join(dir, "debian-amd64.tar"))
			e2etest.LinkOrCopy(t, arm, filepath.Join(dir, "debian-arm64.tar"))
			e := &e2e{t: t, dir: dir, reg: reg, src: strings.ReplaceAll(lockLib, "INDEX", idx.URL)}
			e.write()

			// Nothing locked yet: --check names both.
			code, out, _ := e.run("lock", dir, "--check")
			assert.Equal(t, 1, code)
			assert.Contains(t, out, "base: no lock")
			assert.Contains(t, out, "py: no lock")

			code, out, errOut := e.run("lock", dir)
			require.Equal(t, 0, code, "lock:\n%s\n%s", out, errOut)
			base := readLock(t, dir, "base")
			py := readLock(t, dir, "py")
			for _, pf := range []string{"linux/amd64", "linux/arm64"} {
				require.Contains(t, base.Platforms, pf)
				assert.Contains(t, aptNames(base.Platforms[pf]), "jq", pf)
				assert.Contains(t, aptNames(base.Platforms[pf]), "libjq1", pf, "the closure, not only the named package")
			}
			require.Contains(t, py.Platforms, "linux/amd64")
			assert.NotContains(t, py.Platforms, "linux/arm64")
			assert.Contains(t, aptNames(py.Platforms["linux/amd64"]), "python3-pip")
			assert.NotContains(t, aptNames(py.Platforms["linux/amd64"]), "jq", "what the parent locked is not the child's")
			require.Len(t, py.Platforms["linux/amd64"].Pip, 1)
			d := py.Platforms["linux/amd64"].Pip[0]
			assert.Equal(t, "acme-demo", d.Name)
			assert.Equal(t, "1.0", d.Version)
			assert.Contains(t, d.URL, idx.URL+"/files/acme-demo/")
			require.Equal(t, py.Parent.Lock, base.Digest(), "the child records the parent's lock it was resolved within")

			code, out, _ = e.run("lock", dir, "--check")
			assert.Equal(t, 0, code, out)
			before, err := os.ReadFile(lock.Path(dir, "py"))
			require.NoError(t, err)
			code, out, _ = e.run("lock", dir)
			require.Equal(t, 0, code)
			assert.Contains(t, out, "0 locked, 2 already current")
			after, _ := os.ReadFile(lock.Path(dir, "py"))
			assert.Equal(t, string(before), string(after), "relocking with nothing changed rewrites nothing")

			_, stdout, stderr, code := e.publish("2026-12-07")
			require.Equal(t, 0, code, "publish:\n%s\n%s", stdout, stderr)
			jqTag := "jq-" + strings.SplitN(base.Platforms["linux/amd64"].Apt[0].Version, "-", 2)[0]
			assert.Equal(t, digestOf(t, reg+"/lk/py:2026.12.07"), digestOf(t, reg+"/lk/py:acme-1.0"), "a version tag from the lock")
			assert.Equal(t, digestOf(t, reg+"/lk/py:2026.12.07"), digestOf(t, reg+"/lk/py:"+jqTag), "a version tag from the parent's lock")
			checkSBOMIsLock(t, reg+"/lk/base:2026.12.07", base)
			checkSBOMIsLock(t, reg+"/lk/py:2026.12.07", py)
			const unlocked = "1 package a run: step installed outside the lock: pip handmade 0.1"
			assert.Contains(t, stdout, "py 2026.12.07: "+unlocked+".")
			assert.NotContains(t, stdout, "base 2026.12.07:", "the root's rootfs has no SBOM: nothing can be told")
			code, out, _ = e.run("status", dir, "--packages", "py")
			require.Equal(t, 0, code, out)
			assert.Contains(t, out, "unlocked: a run: step installed them outside the lock (1)\n  pip handmade  0.1  linux/amd64\n")
			podman := e2etest.Podman(t)
			assert.Equal(t, "1.0", runIn(t, podman, reg+"/lk/py:2026.12.07", "python3", "-c", "import acme_demo; print(acme_demo.VERSION)"))

			// The index moves on: the library is up to date, and a
			// rebuild still installs the locked version.
			idx.Add(t, "idna", "3.6")
			good := idx.Add(t, "acme-demo", "1.1", "idna==3.6")
			code, out, _ = e.run("plan", dir, "--date", "2026-12-08", "--unlocked")
			require.Equal(t, 0, code)
			assert.Contains(t, out, "Plan: 0 to build")
			assert.Contains(t, out, "unlocked in 2026.12.07: "+unlocked+"\n")
			e.edit(`GREETING: "one"`, `GREETING: "two"`)
			code, out, _ = e.run("lock", dir, "--check")
			assert.Equal(t, 0, code, "env is not an input of resolution: %s", out)
			_, stdout, stderr, code = e.publish("2026-12-08")
			require.Equal(t, 0, code, "publish:\n%s\n%s", stdout, stderr)
			assert.Equal(t, "1.0", runIn(t, podman, reg+"/lk/py:2026.12.08", "python3", "-c", "import acme_demo; print(acme_demo.VERSION)"))

			// --upgrade moves it; plan says so before building.
			code, out, errOut = e.run("lock", dir, "--upgrade", "py")
			require.Equal(t, 0, code, "lock --upgrade:\n%s\n%s", out, errOut)
			assert.Contains(t, out, "acme-demo 1.0 → 1.1, +1 (idna 3.6)")
			code, out, _ = e.run("plan", dir, "--date", "2026-12-09")
			require.Equal(t, 0, code)
			assert.Contains(t, out, "lock: acme-demo 1.0 → 1.1, +1 (idna 3.6)")
			assert.Contains(t, out, "py:acme-1.1", "plan shows the version tag before building")
			code, js, _ := e.run("plan", dir, "--date", "2026-12-09", "--json")
			require.Equal(t, 0, code)
			var p struct {
				Images []struct {
					Name        string
					Action      string
					LockChanges []lock.Change `json:"lock_changes"`
				}
			}
			require.NoError(t, json.Unmarshal([]byte(js), &p))
			for _, im := range p.Images {
				if im.Name == "py" {
					assert.Equal(t, "build", im.Action)
					assert.Equal(t, []lock.Change{{Ecosystem: "pip", Name: "acme-demo", From: "1.0", To: "1.1"}, {Ecosystem: "pip", Name: "idna", To: "3.6"}}, im.LockChanges)
				}
			}

			// A wheel replaced with other bytes: the build fails, no tag moves.
			other, _ := e2etest.WheelOf(t, "acme-demo", "1.1", "idna==3.6", "six")
			_, file := e2etest.WheelOf(t, "acme-demo", "1.1")
			idx.Put("acme-demo", file, other)
			latest := digestOf(t, reg+"/lk/py:latest")
			_, stdout, stderr, code = e.publish("2026-12-09")
			assert.NotEqual(t, 0, code, "publish with a changed wheel must fail:\n%s", stdout)
			assert.Contains(t, stdout+stderr, "HASHES")
			assert.Equal(t, latest, digestOf(t, reg+"/lk/py:latest"), "no tag moved")
			assert.NotContains(t, string(e2etest.Skopeo(t, "list-tags", "--tls-verify=false", "docker://"+reg+"/lk/py")), "2026.12.09")

			// A child needing a newer version than its parent locked (the
			// index serves the locked wheel again).
			idx.Put("acme-demo", file, good)
			idx.Add(t, "idna", "3.7")
			e.src += "images: kid: {parent: \"py\", pip: {index: \"" + idx.URL + "/simple/\", packages: [\"idna>=3.7\"]}}\n"
			e.write()
			code, out, errOut = e.run("lock", dir, "kid")
			assert.Equal(t, 1, code, out)
			assert.Contains(t, errOut, "images.kid.pip: idna conflicts with the parent's lock")
			assert.Contains(t, errOut, "idna>=3.7")
			assert.Contains(t, errOut, "py locked idna 3.6")
			assert.Regexp(t, `lib\.cue:\d+:\d+`, errOut)

			// A stale lock.
			e.edit(`apt: ["python3-pip"]`, `apt: ["python3-pip", "make"]`)
			code, out, _ = e.run("lock", dir, "--check", "py")
			assert.Equal(t, 1, code)
			assert.Contains(t, out, "py: stale: the spec's packages or their sources changed")
			code, _, errOut = e.run("plan", dir)
			assert.Equal(t, 1, code)
			assert.Contains(t, errOut, "images.py: its lock is stale")

			// A locked version the archive no longer serves fails the
			// image before any tag moves, saying how to move on.
			base.Platforms["linux/amd64"].Apt[0].Version = "0.0-imgctl"
			require.NoError(t, lock.Write(lock.Path(dir, "base"), base))
			latest = digestOf(t, reg+"/lk/base:latest")
			_, stdout, stderr, code = e.publish("2026-12-10", "--target", "base")
			assert.NotEqual(t, 0, code)
			assert.Contains(t, stdout+stderr, "locked jq=0.0-imgctl is no longer served by the archive; run imgctl lock --upgrade base")
			assert.Equal(t, latest, digestOf(t, reg+"/lk/base:latest"), "no tag moved")

			// policy.lock "required" and an image without a lock.
			e.src = strings.Replace(e.src, "registry:", "policy: lock: \"required\"\nregistry:", 1)
			e.write()
			code, _, errOut = e.run("validate", dir)
			assert.Equal(t, 1, code)
			assert.Regexp(t, `lib\.cue:\d+:\d+: images\.kid: policy\.lock is "required"`, errOut)
		})
	}
}

func readLock(t *testing.T, dir, image string) *lock.Lock {
	t.Helper()
	l, err := lock.Read(lock.Path(dir, image))
	require.NoError(t, err)
	return l
}

func aptNames(p *lock.Packages) []string {
	var out []string
	for _, a := range p.Apt {
		out = append(out, a.Name)
	}
	return out
}

// checkSBOMIsLock checks that each platform's SBOM lists every package of
// the lock at its locked version.
func checkSBOMIsLock(t *testing.T, ref string, l *lock.Lock) {
	t.Helper()
	d, err := name.NewDigest(strings.Split(ref, ":")[0]+":"+strings.Split(ref, ":")[1]+"@"+digestOf(t, ref), name.Insecure)
	require.NoError(t, err)
	v, err := inventory.Read(context.Background(), d, inventory.Options{Packages: true})
	require.NoError(t, err)
	for pf, pk := range l.Platforms {
		p := v.Platform(pf)
		require.NotNil(t, p, "%s: %s", ref, pf)
		have := map[string]string{}
		for _, x := range p.Packages {
			n := x.Name
			if x.Ecosystem == inventory.Python {
				n = lock.NormalizePip(n)
			}
			have[x.Ecosystem+"/"+n] = x.Version
		}
		for _, a := range pk.Apt {
			assert.Equal(t, a.Version, have["deb/"+a.Name], "%s %s: apt %s", ref, pf, a.Name)
		}
		for _, x := range pk.Pip {
			assert.Equal(t, x.Version, have["python/"+x.Name], "%s %s: pip %s", ref, pf, x.Name)
		}
		for _, x := range pk.R {
			assert.Equal(t, x.Version, have[inventory.R+"/"+x.Name], "%s %s: r %s", ref, pf, x.Name)
		}
	}
}

// runIn runs a command in the published image with podman (the test's
// own store) and returns its output, trimmed.
func runIn(t *testing.T, podman []string, ref string, args ...string) string {
	t.Helper()
	var stderr strings.Builder
	cmd := exec.Command(podman[0], append(append(podman[1:len(podman):len(podman)], "run", "--rm", "--network", "host", "--tls-verify=false", ref), args...)...)
	cmd.Stderr = &stderr // the pull's progress
	out, err := cmd.Output()
	require.NoError(t, err, "podman run %s: %s%s", ref, out, stderr.String())
	return strings.TrimSpace(string(out))
}

// rLockLib is R from the Debian mirror and, on it, an R package from a
// CRAN-like repository on loopback that imports another.
const rLockLib = `package lib

registry: "REGISTRY/rl"
images: rbase: {
	from:   "scratch"
	rootfs: "debian-amd64.tar"
	env: {PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", LANG: "C.UTF-8"}
	apt: ["r-base-core"]
}
images: rkid: {
	parent: "rbase"
	r: {repo: "CRAN", packages: ["imgctlhello"]}
}
`

// TestLockedR locks an R package and the package it imports (URL and
// sha256 of each), publishes it (the SBOM lists both at their locked
// versions), and fails the publish when the repository serves other
// bytes under the locked URL.
func TestLockedR(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("end-to-end")
	}
	useBuildKit(t)
	amd := e2etest.DebianRootfsFor(t, "amd64")
	tarballs := map[string][]byte{
		"imgctlhello_1.0.tar.gz": e2etest.RSourcePackageImporting(t, "imgctlhello", "1.0", "hello from a lock", "imgctldep"),
		"imgctldep_0.1.tar.gz":   e2etest.RSourcePackage(t, "imgctldep", "0.1", "a dependency"),
	}
	cran := e2etest.ServeCRANImporting(t, tarballs, map[string]string{"imgctlhello": "imgctldep"})
	reg := e2etest.Registry(t)
	dir := t.TempDir()
	e2etest.LinkOrCopy(t, amd, filepath.Join(dir, "debian-amd64.tar"))
	e := &e2e{t: t, dir: dir, reg: reg, src: strings.ReplaceAll(rLockLib, "CRAN", cran.URL)}
	e.write()

	code, out, errOut := e.run("lock", dir)
	require.Equal(t, 0, code, "lock:\n%s\n%s", out, errOut)
	l := readLock(t, dir, "rkid")
	rs := l.Platforms["linux/amd64"].R
	require.Len(t, rs, 2, "the package and what it imports")
	assert.Equal(t, "imgctldep", rs[0].Name)
	assert.Equal(t, cran.URL+"/src/contrib/imgctlhello_1.0.tar.gz", rs[1].URL)
	assert.Len(t, rs[1].SHA256, 64)
	assert.Contains(t, aptNames(readLock(t, dir, "rbase").Platforms["linux/amd64"]), "r-base-core")

	_, stdout, stderr, code := e.publish("2026-12-07")
	require.Equal(t, 0, code, "publish:\n%s\n%s", stdout, stderr)
	checkSBOMIsLock(t, reg+"/rl/rkid:2026.12.07", l)
	assert.Equal(t, "hello from a lock", runIn(t, e2etest.Podman(t), reg+"/rl/rkid:2026.12.07", "Rscript", "-e", "cat(imgctlhello::hello())"))

	// The R package the image really installs is matched as CRAN, in R's
	// version order; R's own library (Debian's r-base-core) is not.
	feed := t.TempDir()
	vulndbtest.Write(t, feed,
		vulndbtest.Record{ID: "RSEC-2026-0042", Ecosystem: "CRAN", Package: "imgctlhello", Fixed: "1.0-1", Aliases: []string{"CVE-2026-4200"}, CVSS: vulndbtest.High},
		vulndbtest.Record{ID: "RSEC-2026-0043", Ecosystem: "CRAN", Package: "stats", Fixed: "99"})
	code, out, errOut = e.run("vulns", dir, "rkid", "--vulndb", feed, "--json")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, `"id": "RSEC-2026-0042"`)
	assert.Contains(t, out, `"installed": "1.0"`)
	assert.Contains(t, out, `"fixed": "1.0-1"`)
	assert.NotContains(t, out, "RSEC-2026-0043", "R's base packages are Debian's r-base-core")
}
