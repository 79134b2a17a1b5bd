package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/internal/e2etest"
)

// adoptLib is a small library whose base repository a team filled by hand
// before adopting imgctl.
const adoptLib = `package lib

registry: "REGISTRY/e2e"
images: base: {
	from:   "scratch"
	rootfs: "busybox.tar"
	env: PATH: "/bin"
	cmd: ["sh"]
}
images: leaf: {parent: "base", run: ["echo leaf > /leaf.txt"]}
`

// TestAdoptForeignRepository publishes into a repository holding a
// hand-pushed latest and v1, a tag shaped like today's version, a Helm
// chart, a cosign signature tag and (distribution only: no API makes it) a
// dated tag whose manifest revision is gone — on Debian's distribution 2.8
// and on the referrers registry. plan, publish, status and catalog work;
// only latest moves; every other foreign tag is left as it was; nothing
// foreign is marked deprecated.
func TestAdoptForeignRepository(t *testing.T) {
	for _, mode := range []string{"distribution", "referrers"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			e := newE2E(t)
			e.src = adoptLib
			var storage string
			if mode == "referrers" {
				e.reg = e2etest.InProcessRegistry(t, true)
			} else {
				e.reg, storage = e2etest.RegistryWithStorage(t)
			}
			e.write()
			repo := e.reg + "/e2e/base"
			push := func(tag string, mediaType string) string {
				img, err := random.Image(256, 1)
				require.NoError(t, err)
				if mediaType != "" {
					img = mutate.ConfigMediaType(img, "application/vnd.cncf.helm.config.v1+json")
				}
				ref, err := name.NewTag(repo+":"+tag, name.Insecure)
				require.NoError(t, err)
				require.NoError(t, remote.Write(ref, img))
				d, err := img.Digest()
				require.NoError(t, err)
				return d.String()
			}
			hand := push("latest", "")
			require.NoError(t, remote.Tag(mustTag(t, repo+":v1"), mustImage(t, repo+":latest")))
			foreign := map[string]string{"v1": hand, "2026.12.07": push("2026.12.07", ""), "0.1.0": push("0.1.0", "helm")}
			foreign["sha256-"+strings.TrimPrefix(hand, "sha256:")+".sig"] = push("sha256-"+strings.TrimPrefix(hand, "sha256:")+".sig", "")
			if storage != "" {
				gone := push("2026.12.01", "")
				rev := filepath.Join(storage, "docker/registry/v2/repositories/e2e/base/_manifests/revisions/sha256", strings.TrimPrefix(gone, "sha256:"))
				require.DirExists(t, rev)
				require.NoError(t, os.RemoveAll(rev))
			}

			code, out, errOut := e.run("plan", e.dir, "--date", "2026-12-07")
			require.Equal(t, 0, code, "plan: %s\n%s", out, errOut)
			assert.Contains(t, out, "latest points at an image imgctl did not publish (sha256:"+strings.TrimPrefix(hand, "sha256:")[:12]+"); publish moves it to 2026.12.07.1")
			assert.Contains(t, out, "2026.12.07 is not an imgctl version")
			if storage != "" {
				assert.Contains(t, out, "2026.12.01 is not an imgctl version: it points at a manifest that is missing")
			}
			code, js, errOut := e.run("plan", e.dir, "--date", "2026-12-07", "--json")
			require.Equal(t, 0, code, errOut)
			var p struct {
				Images []struct {
					Name    string
					Foreign []struct{ Tag, Digest, Note string }
				}
			}
			require.NoError(t, json.Unmarshal([]byte(js), &p))
			require.Equal(t, "base", p.Images[0].Name)
			var tags []string
			for _, f := range p.Images[0].Foreign {
				tags = append(tags, f.Tag)
			}
			assert.Contains(t, tags, "latest")
			assert.Contains(t, tags, "2026.12.07")

			code, out, errOut = e.run("publish", e.dir, "--date", "2026-12-07", "--progress", "plain", "--json")
			require.Equal(t, 0, code, "publish: %s\n%s", out, errOut)
			var rep struct {
				Images []struct {
					Name, Action, Version, Digest string
					Tags                          []struct {
						Tag, Kind, Version, Digest string
						MovedFrom                  string `json:"moved_from"`
					}
					Deprecated []struct{ Version string }
				}
				Summary struct{ Built, Tags, Marked int }
			}
			require.NoError(t, json.Unmarshal([]byte(out), &rep), "publish --json prints JSON alone on stdout: %s", out)
			require.Len(t, rep.Images, 2)
			base := rep.Images[0]
			assert.Equal(t, "base", base.Name)
			assert.Equal(t, "build", base.Action)
			assert.Equal(t, "2026.12.07.1", base.Version)
			require.Len(t, base.Tags, 2)
			assert.Equal(t, "2026.12.07.1", base.Tags[0].Tag)
			assert.Equal(t, "latest", base.Tags[1].Tag)
			assert.Equal(t, hand, base.Tags[1].MovedFrom, "latest moved from the hand-pushed image")
			assert.Equal(t, base.Digest, base.Tags[1].Digest)
			assert.Empty(t, base.Deprecated, "nothing foreign is marked")
			assert.Equal(t, 2, rep.Summary.Built)
			assert.Equal(t, 4, rep.Summary.Tags)
			assert.Zero(t, rep.Summary.Marked)
			built := map[string]string{}
			for _, im := range rep.Images {
				built[im.Name] = im.Version
			}
			assert.Equal(t, map[string]string{"base": "2026.12.07.1", "leaf": "2026.12.07"}, built)
			for tag, d := range foreign {
				assert.Equal(t, d, headDigest(t, repo+":"+tag), "%s is left as it was", tag)
			}
			assert.Equal(t, headDigest(t, repo+":2026.12.07.1"), headDigest(t, repo+":latest"), "latest moved to imgctl's version")

			code, out, errOut = e.run("status", e.dir)
			require.Equal(t, 0, code, "status: %s\n%s", out, errOut)
			assert.Contains(t, out, "other tags, not imgctl's (left as they are): 2026.12.07 (not imgctl's: sha256:")
			assert.Contains(t, out, "0.1.0, v1")
			assert.NotContains(t, out, "deprecated", "nothing is marked")
			// verify checks imgctl's versions, never the foreign tags
			// (unsigned here: it fails on that, which is not the point).
			_, pub := keyPair(t, t.TempDir(), "cosign", "pw")
			_, out, errOut = e.run("verify", e.dir, "--json", "--key", pub)
			var vr struct {
				Results []struct{ Image, Version string }
			}
			require.NoError(t, json.Unmarshal([]byte(out), &vr), "verify: %s\n%s", out, errOut)
			var checked []string
			for _, r := range vr.Results {
				checked = append(checked, r.Image+"@"+r.Version)
			}
			assert.ElementsMatch(t, []string{"base@2026.12.07.1", "leaf@2026.12.07"}, checked)
			code, out, errOut = e.run("catalog", e.dir, "--out", filepath.Join(t.TempDir(), "site"))
			require.Equal(t, 0, code, "catalog: %s\n%s", out, errOut)

			code, out, errOut = e.run("plan", e.dir, "--date", "2026-12-08", "--detailed-exitcode")
			assert.Equal(t, 0, code, "converged: %s\n%s", out, errOut)
		})
	}
}

// TestPublishFailsOnBlocked: a library with an image whose external base
// lacks a platform it needs and one pinned to a version that does not
// exist. publish builds what it can, then exits 1 naming both; a second
// publish has nothing else to do and still exits 1; plan
// --detailed-exitcode reports them as changes.
func TestPublishFailsOnBlocked(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	e2etest.PushRootfs(t, e2etest.BusyboxRootfs(t), e.reg+"/mirror/busybox:1")
	e.src = adoptLib + `
images: arm: {from: "REGISTRY/mirror/busybox:1", platforms: ["linux/amd64", "linux/arm64"], run: ["true"]}
images: pinned: {parent: "base@2026.01.01", run: ["true"]}
`
	e.write()
	built, out, errOut, code := e.publish("2026-12-07")
	assert.Equal(t, 1, code, "%s\n%s", out, errOut)
	assert.Equal(t, map[string]string{"base": "2026.12.07", "leaf": "2026.12.07"}, built, "everything else is published")
	assert.Contains(t, errOut, "2 images are blocked and cannot be published until the specs change:")
	assert.Contains(t, errOut, "  arm: external base "+e.reg+"/mirror/busybox:1 lacks linux/arm64")
	assert.Contains(t, errOut, "  pinned: pinned parent base@2026.01.01 is not published")
	assert.NotContains(t, out+errOut, "up to date")

	_, out, errOut, code = e.publish("2026-12-08")
	assert.Equal(t, 1, code, "%s\n%s", out, errOut)
	assert.Contains(t, out, "Nothing to publish.")
	code, out, _ = e.run("publish", e.dir, "--date", "2026-12-08", "--json")
	assert.Equal(t, 1, code)
	var rep struct {
		Images []struct {
			Name    string
			Blocked []struct{ Message string }
		}
		Summary struct{ Blocked int }
		Error   string
	}
	require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
	assert.Equal(t, 2, rep.Summary.Blocked)
	require.Len(t, rep.Images, 2)
	assert.Equal(t, "arm", rep.Images[0].Name)
	assert.Contains(t, rep.Images[0].Blocked[0].Message, "lacks linux/arm64")
	assert.Contains(t, rep.Error, "2 images are blocked")
	assert.NotContains(t, out+errOut, "up to date")
	code, _, _ = e.run("plan", e.dir, "--date", "2026-12-08", "--detailed-exitcode")
	assert.Equal(t, ExitChanges, code)
}

func mustTag(t *testing.T, ref string) name.Tag {
	tag, err := name.NewTag(ref, name.Insecure)
	require.NoError(t, err)
	return tag
}

func mustImage(t *testing.T, ref string) remote.Taggable {
	d, err := remote.Get(mustTag(t, ref))
	require.NoError(t, err)
	return d
}

func headDigest(t *testing.T, ref string) string {
	d, err := remote.Head(mustTag(t, ref))
	require.NoError(t, err, ref)
	return d.Digest.String()
}
