package cli

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/internal/e2etest"
	"github.com/imgctl/imgctl/pkg/build"
	"github.com/imgctl/imgctl/pkg/sbom"
	"github.com/imgctl/imgctl/pkg/signing"
)

// attestLib is a Debian base for two platforms (the debootstrap rootfs:
// dpkg's database is in it) and a Python image on it with a pip step
// against the loopback wheel index.
const attestLib = `package lib

registry: "REGISTRY/att"
policy: source: "https://git.example.com/platform/images.git"
images: base: {
	from:      "scratch"
	platforms: ["linux/amd64", "linux/arm64"]
	rootfs: {"linux/amd64": "debian-amd64.tar", "linux/arm64": "debian-arm64.tar"}
	env: PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
}
images: py: {
	parent:    "base"
	platforms: ["linux/amd64"]
	apt: ["python3-pip"]
	pip: {index: "PYPI/simple/", packages: ["imgctlsbomprobe==1.0"]}
}
`

// cosignCLI is the cosign command-line tool hack/install-deps.sh builds.
func cosignCLI(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(e2etest.RepoRoot(t), "bin", "cosign")
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("IMGCTL_E2E") != "" {
			t.Fatalf("bin/cosign is missing: run hack/install-deps.sh tools")
		}
		t.Skip("bin/cosign is missing: run hack/install-deps.sh tools")
	}
	return bin
}

// keyPair writes a cosign key pair, encrypted with password, as
// dir/NAME.key and dir/NAME.pub.
func keyPair(t *testing.T, dir, name, password string) (key, pub string) {
	t.Helper()
	kb, err := cosign.GenerateKeyPair(func(bool) ([]byte, error) { return []byte(password), nil })
	require.NoError(t, err)
	key, pub = filepath.Join(dir, name+".key"), filepath.Join(dir, name+".pub")
	require.NoError(t, os.WriteFile(key, kb.PrivateBytes, 0o600))
	require.NoError(t, os.WriteFile(pub, kb.PublicBytes, 0o644))
	return key, pub
}

// git commits everything in dir and returns the commit.
func gitCommit(t *testing.T, dir string) string {
	t.Helper()
	for _, args := range [][]string{{"init", "-q"}, {"add", "-A"}, {"-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "specs"}, {"rev-parse", "HEAD"}} {
		out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput()
		require.NoError(t, err, "git %s: %s", args, out)
		if args[0] == "rev-parse" {
			return strings.TrimSpace(string(out))
		}
	}
	return ""
}

// statement is an in-toto statement as BuildKit stores it.
type statement struct {
	PredicateType string `json:"predicateType"`
	Subject       []struct {
		Digest map[string]string `json:"digest"`
	} `json:"subject"`
	Predicate json.RawMessage `json:"predicate"`
}

// attestations reads, with go-containerregistry alone, each platform's
// manifest digest and in-toto statements of the index at ref.
func attestations(t *testing.T, ref string) (manifests map[string]string, statements map[string][]statement) {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	require.NoError(t, err)
	idx, err := remote.Index(r)
	require.NoError(t, err)
	im, err := idx.IndexManifest()
	require.NoError(t, err)
	manifests, statements = map[string]string{}, map[string][]statement{}
	platformOf := map[string]string{}
	for _, m := range im.Manifests {
		if m.Annotations["vnd.docker.reference.type"] != "attestation-manifest" {
			p := m.Platform.OS + "/" + m.Platform.Architecture
			manifests[p] = m.Digest.String()
			platformOf[m.Digest.String()] = p
		}
	}
	for _, m := range im.Manifests {
		subject := m.Annotations["vnd.docker.reference.digest"]
		if m.Annotations["vnd.docker.reference.type"] != "attestation-manifest" {
			continue
		}
		p, ok := platformOf[subject]
		require.True(t, ok, "attestation manifest %s names %s, not in the index", m.Digest, subject)
		img, err := idx.Image(m.Digest)
		require.NoError(t, err)
		layers, err := img.Layers()
		require.NoError(t, err)
		for _, l := range layers {
			rc, err := l.Compressed()
			require.NoError(t, err)
			b, err := io.ReadAll(rc)
			rc.Close()
			require.NoError(t, err)
			var st statement
			require.NoError(t, json.Unmarshal(b, &st))
			require.NotEmpty(t, st.Subject)
			assert.Equal(t, strings.TrimPrefix(subject, "sha256:"), st.Subject[0].Digest["sha256"], "the statement is about the %s manifest", p)
			statements[p] = append(statements[p], st)
		}
	}
	return manifests, statements
}

func predicate(t *testing.T, sts []statement, typ string) json.RawMessage {
	t.Helper()
	for _, st := range sts {
		if st.PredicateType == typ {
			return st.Predicate
		}
	}
	t.Fatalf("no %s statement among %d", typ, len(sts))
	return nil
}

// spdxPackages maps package name to version and purl.
func spdxPackages(t *testing.T, p json.RawMessage) map[string][2]string {
	t.Helper()
	var doc struct {
		SPDXVersion string `json:"spdxVersion"`
		Packages    []struct {
			Name         string `json:"name"`
			Version      string `json:"versionInfo"`
			ExternalRefs []struct {
				Type    string `json:"referenceType"`
				Locator string `json:"referenceLocator"`
			} `json:"externalRefs"`
		} `json:"packages"`
	}
	require.NoError(t, json.Unmarshal(p, &doc))
	assert.Equal(t, "SPDX-2.3", doc.SPDXVersion)
	out := map[string][2]string{}
	for _, pk := range doc.Packages {
		purl := ""
		for _, r := range pk.ExternalRefs {
			if r.Type == "purl" {
				purl = r.Locator
			}
		}
		out[pk.Name] = [2]string{pk.Version, purl}
	}
	return out
}

// TestAttestationsAndSignatures publishes a Debian base (two platforms)
// and a pip image on it, signed, with SBOM and provenance, to both
// registry kinds, and checks what landed with go-containerregistry and
// the cosign CLI; then imgctl verify on the good versions and on an
// unsigned one, one stripped of its attestations and one whose signature
// was tampered with.
func TestAttestationsAndSignatures(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("end-to-end")
	}
	e2etest.RequirePlatforms(t, useBuildKit(t), "linux/arm64")
	cosignBin := cosignCLI(t)
	amd, arm := e2etest.DebianRootfsFor(t, "amd64"), e2etest.DebianRootfsFor(t, "arm64")
	pypi := e2etest.ServePyPI(t, "", "", "imgctlsbomprobe")
	keys := t.TempDir()
	key, pub := keyPair(t, keys, "cosign", "s3cret-pw")
	// Process-wide, set once and never unset: the tests run in parallel
	// (t.Setenv refuses) and no other reads it.
	os.Setenv(signing.PasswordEnv, "s3cret-pw")
	_, otherPub := keyPair(t, keys, "other", "x")

	t.Run("modes", func(t *testing.T) {
		for _, mode := range []string{"distribution", "ggcr-referrers"} {
			t.Run(mode, func(t *testing.T) {
				t.Parallel()
				reg := e2etest.Registry(t)
				if mode == "ggcr-referrers" {
					reg = e2etest.InProcessRegistry(t, true)
				}
				dir := t.TempDir()
				e2etest.LinkOrCopy(t, amd, filepath.Join(dir, "debian-amd64.tar"))
				e2etest.LinkOrCopy(t, arm, filepath.Join(dir, "debian-arm64.tar"))
				src := strings.NewReplacer("REGISTRY", reg, "PYPI", pypi.URL).Replace(attestLib)
				require.NoError(t, os.WriteFile(filepath.Join(dir, "lib.cue"), []byte(src), 0o644))
				commit := gitCommit(t, dir)
				e := &e2e{t: t, dir: dir, reg: reg}

				code, stdout, stderr := e.run("publish", dir, "--date", "2026-11-24", "--progress", "plain", "--sign-key", key)
				require.Equal(t, 0, code, "publish:\n%s\n%s", stdout, stderr)
				assert.NotContains(t, stdout+stderr, "s3cret-pw", "the password never shows")

				for _, im := range []string{"base", "py"} {
					ref := reg + "/att/" + im + ":2026.11.24"
					digest := digestOf(t, ref)
					// The cosign CLI verifies with the key, and not with another.
					out, err := exec.Command(cosignBin, "verify", "--key", pub, "--insecure-ignore-tlog=true", "--allow-http-registry", reg+"/att/"+im+"@"+digest).CombinedOutput()
					assert.NoError(t, err, "cosign verify %s: %s", im, out)
					out, err = exec.Command(cosignBin, "verify", "--key", otherPub, "--insecure-ignore-tlog=true", "--allow-http-registry", reg+"/att/"+im+"@"+digest).CombinedOutput()
					assert.Error(t, err, "cosign verify with another key must fail: %s", out)

					manifests, sts := attestations(t, ref)
					for p := range manifests {
						prov := predicate(t, sts[p], "https://slsa.dev/provenance/v1")
						var pr struct {
							RunDetails struct {
								Builder  struct{ ID string } `json:"builder"`
								Metadata struct {
									BuildKit struct {
										VCS map[string]string `json:"vcs"`
									} `json:"buildkit_metadata"`
								} `json:"metadata"`
							} `json:"runDetails"`
						}
						require.NoError(t, json.Unmarshal(prov, &pr))
						assert.Equal(t, build.DefaultBuilderID, pr.RunDetails.Builder.ID, "%s %s", im, p)
						assert.Equal(t, commit, pr.RunDetails.Metadata.BuildKit.VCS["revision"], "%s %s: the spec commit", im, p)
						assert.Equal(t, "https://git.example.com/platform/images.git", pr.RunDetails.Metadata.BuildKit.VCS["source"])

						pkgs := spdxPackages(t, predicate(t, sts[p], "https://spdx.dev/Document"))
						arch := strings.TrimPrefix(p, "linux/")
						libc := pkgs["libc6"]
						assert.NotEmpty(t, libc[0], "%s %s: the SBOM lists libc6 with its version", im, p)
						assert.True(t, strings.HasPrefix(libc[1], "pkg:deb/debian/libc6@"), "%s %s: purl %s", im, p, libc[1])
						assert.Contains(t, libc[1], "arch="+arch, "%s %s: the platform's own packages", im, p)
						if im == "py" {
							probe := pkgs["imgctlsbomprobe"]
							assert.Equal(t, "1.0", probe[0], "the wheel from the loopback index, with its version")
							assert.Equal(t, "pkg:pypi/imgctlsbomprobe@1.0", probe[1])
							assert.NotEmpty(t, pkgs["python3-pip"][0], "and the apt package")
						}
					}
					if im == "base" {
						assert.Len(t, manifests, 2)
					}
				}

				// imgctl verify: everything passes, in text and JSON.
				code, stdout, stderr = e.run("verify", dir, "--key", pub)
				require.Equal(t, 0, code, "verify:\n%s\n%s", stdout, stderr)
				assert.Contains(t, stdout, "2 versions verified")
				code, stdout, _ = e.run("verify", dir, "base@2026.11.24", "--key", pub, "--json")
				require.Equal(t, 0, code)
				var vr struct {
					OK      bool `json:"ok"`
					Results []struct {
						Image, Version, Signature string
						Platforms                 []struct {
							Platform         string
							SBOM, Provenance bool
							Revision         string
						}
					}
				}
				require.NoError(t, json.Unmarshal([]byte(stdout), &vr), stdout)
				require.True(t, vr.OK)
				require.Len(t, vr.Results, 1)
				assert.Equal(t, "valid", vr.Results[0].Signature)
				require.Len(t, vr.Results[0].Platforms, 2)
				for _, p := range vr.Results[0].Platforms {
					assert.True(t, p.SBOM && p.Provenance, "%+v", p)
					assert.Equal(t, commit, p.Revision)
				}
				code, stdout, _ = e.run("verify", dir, "--key", otherPub)
				assert.Equal(t, 1, code, "another key: %s", stdout)
				assert.Contains(t, stdout, "base@2026.11.24: signature: not valid for the key")

				// status: signed, SBOM and provenance everywhere.
				code, stdout, _ = e.run("status", dir)
				require.Equal(t, 0, code)
				assert.Regexp(t, `2026\.11\.24\s+sha256:\w+\s+linux/amd64,linux/arm64\s+[\d.]+ [kMG]?B,[\d.]+ [kMG]?B\s+signed\s+yes\s+yes\s`, stdout)

				// An unsigned version: a new image published without a key.
				f, err := os.OpenFile(filepath.Join(dir, "lib.cue"), os.O_APPEND|os.O_WRONLY, 0)
				require.NoError(t, err)
				_, err = f.WriteString("images: extra: {parent: \"base\", platforms: [\"linux/amd64\"], run: [\"echo extra > /extra\"]}\n")
				require.NoError(t, err)
				require.NoError(t, f.Close())
				code, stdout, stderr = e.run("publish", dir, "--date", "2026-11-25", "--progress", "quiet")
				require.Equal(t, 0, code, "publish without a key:\n%s\n%s", stdout, stderr)
				code, stdout, _ = e.run("verify", dir, "extra", "--key", pub)
				assert.Equal(t, 1, code)
				assert.Contains(t, stdout, "extra@2026.11.25: signature: none")
				code, stdout, _ = e.run("status", dir, "extra")
				require.Equal(t, 0, code)
				assert.Regexp(t, `2026\.11\.25\s+sha256:\w+\s+linux/amd64\s+[\d.]+ [kMG]?B\s+unsigned\s+yes\s+yes\s`, stdout)

				// A version stripped of its attestations (a copy of py's
				// platform manifests alone), signed: verify names what is missing.
				pyRef, err := name.ParseReference(reg+"/att/py:2026.11.24", name.Insecure)
				require.NoError(t, err)
				pyIdx, err := remote.Index(pyRef)
				require.NoError(t, err)
				pim, err := pyIdx.IndexManifest()
				require.NoError(t, err)
				var stripped v1.ImageIndex = mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
				for _, m := range pim.Manifests {
					if m.Annotations["vnd.docker.reference.type"] == "attestation-manifest" {
						continue
					}
					img, err := pyIdx.Image(m.Digest)
					require.NoError(t, err)
					stripped = mutate.AppendManifests(stripped, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: m.Platform}})
				}
				strippedRef := pyRef.Context().Tag("2026.12.01")
				require.NoError(t, remote.WriteIndex(strippedRef, stripped))
				sd, err := stripped.Digest()
				require.NoError(t, err)
				s, err := signing.LoadSigner(key, []byte("s3cret-pw"))
				require.NoError(t, err)
				require.NoError(t, s.Sign(context.Background(), pyRef.Context().Digest(sd.String())))
				code, stdout, _ = e.run("verify", dir, "py@2026.12.01", "--key", pub)
				assert.Equal(t, 1, code)
				assert.Contains(t, stdout, "py@2026.12.01: linux/amd64: no SBOM")
				assert.Contains(t, stdout, "py@2026.12.01: linux/amd64: no provenance")
				assert.NotContains(t, stdout, "py@2026.12.01: signature")
				// --latest checks what users pull: latest is still 2026.11.24.
				code, stdout, _ = e.run("verify", dir, "py", "--latest", "--key", pub)
				assert.Equal(t, 0, code, stdout)
				assert.Regexp(t, `py\s+2026\.11\.24\s`, stdout)
				assert.NotContains(t, stdout, "2026.12.01")

				// A tampered signature: base's signature replaced by py's
				// (a valid signature, of another image).
				baseDigest := digestOf(t, reg+"/att/base:2026.11.24")
				pyDigest := digestOf(t, reg+"/att/py:2026.11.24")
				baseRepo, err := name.NewRepository(reg+"/att/base", name.Insecure)
				require.NoError(t, err)
				pySig, err := remote.Image(pyRef.Context().Tag(strings.Replace(pyDigest, ":", "-", 1) + ".sig"))
				require.NoError(t, err)
				require.NoError(t, remote.Write(baseRepo.Tag(strings.Replace(baseDigest, ":", "-", 1)+".sig"), pySig))
				code, stdout, _ = e.run("verify", dir, "base@2026.11.24", "--key", pub)
				assert.Equal(t, 1, code)
				assert.Contains(t, stdout, "base@2026.11.24: signature: not valid for the key")
				out, err := exec.Command(cosignBin, "verify", "--key", pub, "--insecure-ignore-tlog=true", "--allow-http-registry", reg+"/att/base@"+baseDigest).CombinedOutput()
				assert.Error(t, err, "cosign rejects the tampered signature too: %s", out)
			})
		}
	})
}

// digestOf resolves ref with go-containerregistry.
func digestOf(t *testing.T, ref string) string {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	require.NoError(t, err)
	d, err := remote.Head(r)
	require.NoError(t, err)
	return d.Digest.String()
}

// TestSigningRequired: with policy.sign, publish refuses to start without a
// usable key, before anything is built or pushed, and says why without
// showing the password.
func TestSigningRequired(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("end-to-end: needs a registry")
	}
	useBuildKit(t)
	reg := e2etest.Registry(t)
	dir := t.TempDir()
	e2etest.LinkOrCopy(t, e2etest.BusyboxRootfs(t), filepath.Join(dir, "busybox.tar"))
	envName := "IMGCTL_TEST_KEY_" + strings.ToUpper(strings.NewReplacer(".", "_", ":", "_").Replace(reg))
	lib := `package lib

registry: "` + reg + `/req"
policy: {
	sign:       true
	signKeyEnv: "` + envName + `"
}
images: base: {from: "scratch", rootfs: "busybox.tar", env: PATH: "/bin"}
`
	require.NoError(t, os.WriteFile(filepath.Join(dir, "lib.cue"), []byte(lib), 0o644))
	e := &e2e{t: t, dir: dir, reg: reg}
	nothingPushed := func() {
		t.Helper()
		r, err := name.NewRegistry(reg, name.Insecure)
		require.NoError(t, err)
		repos, err := remote.Catalog(context.Background(), r)
		require.NoError(t, err)
		assert.Empty(t, repos, "nothing was pushed")
	}

	code, stdout, stderr := e.run("publish", dir, "--date", "2026-11-24", "--progress", "plain")
	assert.Equal(t, 1, code, "%s\n%s", stdout, stderr)
	assert.Contains(t, stderr, "policy.sign is true ("+filepath.Join(dir, "lib.cue")+":5:")
	assert.Contains(t, stderr, "$"+envName+" is not set")
	assert.Contains(t, stderr, "nothing was built")
	nothingPushed()

	// A key whose password is not $COSIGN_PASSWORD.
	key, _ := keyPair(t, t.TempDir(), "cosign", "not-the-password")
	os.Setenv(envName, key) // this test's own variable
	code, stdout, stderr = e.run("publish", dir, "--date", "2026-11-24", "--progress", "plain")
	assert.Equal(t, 1, code, "%s\n%s", stdout, stderr)
	assert.Contains(t, stderr, "signing key is not usable")
	assert.Contains(t, stderr, key)
	assert.NotContains(t, stdout+stderr, "not-the-password")
	if pw := os.Getenv(signing.PasswordEnv); pw != "" {
		assert.NotContains(t, stdout+stderr, pw)
	}
	nothingPushed()

	// --sign-key with a file that is not there: refused too.
	code, _, stderr = e.run("publish", dir, "--date", "2026-11-24", "--sign-key", filepath.Join(dir, "missing.key"))
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "missing.key")
	nothingPushed()
}

// TestSBOMScannerPushedWhenMissing runs imgctl as a user would, with no
// scanner pinned: publish pushes imgctl's own scanner to
// REGISTRY/imgctl-cache:sbom-scanner-<hash> once, BuildKit runs it, and
// later publishes and scanner push reuse it.
func TestSBOMScannerPushedWhenMissing(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("end-to-end")
	}
	useBuildKit(t)
	scannerDir := e2etest.ScannerDir(t)
	bin := filepath.Join(t.TempDir(), "imgctl")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/imgctl/imgctl/cmd/imgctl").CombinedOutput()
	require.NoError(t, err, "%s", out)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, scannerEnv+"=") && !strings.HasPrefix(kv, scannerDirEnv+"=") {
			env = append(env, kv)
		}
	}
	env = append(env, scannerDirEnv+"="+scannerDir)
	imgctl := func(args ...string) (string, string, error) {
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		var o, e strings.Builder
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		return o.String(), e.String(), err
	}
	e := newE2E(t)
	_, stderr, err := imgctl("publish", e.dir, "--date", "2026-11-24", "--progress", "plain", "--target", "base")
	require.NoError(t, err, stderr)

	scanners := func() []string {
		var lt struct{ Tags []string }
		require.NoError(t, json.Unmarshal(e2etest.Skopeo(t, "list-tags", "--tls-verify=false", "docker://"+e.reg+"/e2e/imgctl-cache"), &lt))
		var out []string
		for _, tag := range lt.Tags {
			if strings.HasPrefix(tag, "sbom-scanner-") {
				out = append(out, tag)
			}
		}
		return out
	}
	tags := scanners()
	require.Len(t, tags, 1, "one scanner image, tagged by its content")
	var raw struct {
		Manifests []struct{ Platform struct{ Architecture string } }
	}
	require.NoError(t, json.Unmarshal(e2etest.Skopeo(t, "inspect", "--raw", "--tls-verify=false", "docker://"+e.reg+"/e2e/imgctl-cache:"+tags[0]), &raw))
	var archs []string
	for _, m := range raw.Manifests {
		archs = append(archs, m.Platform.Architecture)
	}
	// One platform per binary built (make builds this machine's: BuildKit
	// runs the scanner on the daemon's own platform).
	var want []string
	for _, a := range []string{"amd64", "arm64"} {
		if _, err := os.Stat(filepath.Join(e2etest.ScannerDir(t), "linux_"+a, sbom.Binary)); err == nil {
			want = append(want, a)
		}
	}
	assert.Contains(t, want, runtime.GOARCH)
	assert.ElementsMatch(t, want, archs, "the scanner image serves the platforms it was built for")

	_, sts := attestations(t, e.reg+"/e2e/base:2026.11.24")
	require.Contains(t, sts, "linux/amd64")
	pkgs := spdxPackages(t, predicate(t, sts["linux/amd64"], "https://spdx.dev/Document"))
	assert.NotNil(t, pkgs, "an SPDX SBOM made by the pushed scanner")

	// The rest of the library: the scanner is already there.
	_, stderr, err = imgctl("publish", e.dir, "--date", "2026-11-24", "--progress", "plain")
	require.NoError(t, err, stderr)
	assert.Equal(t, tags, scanners(), "not pushed again")
	stdout, stderr, err := imgctl("scanner", "push", e.dir)
	require.NoError(t, err, stderr)
	assert.Contains(t, stderr, "is already there")
	assert.Regexp(t, `^`+e.reg+`/e2e/imgctl-cache@sha256:[0-9a-f]{64}\n$`, stdout)
}
