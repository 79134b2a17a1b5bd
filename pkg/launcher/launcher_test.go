package launcher_test

import (
	"bytes"
	"context"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/internal/goldentest"
	it "github.com/imgctl/imgctl/pkg/inventory/inventorytest"
	"github.com/imgctl/imgctl/pkg/launcher"
	"github.com/imgctl/imgctl/pkg/lifecycle"
	"github.com/imgctl/imgctl/pkg/published"
	"github.com/imgctl/imgctl/pkg/readmodel"
	"github.com/imgctl/imgctl/pkg/regclient"
	"github.com/imgctl/imgctl/pkg/spec"
	"github.com/imgctl/imgctl/pkg/status"
)

const lib = `package lib
registry: "REGISTRY/ds"
sizes: {
	small:  {cpu: 1, memory: "4Gi", description: "notebooks"}
	medium: {cpu: 2.5, memory: "1.5Gi"}
	gpu:    {cpu: 8, memory: "48Gi", gpu: {count: 1}}
}
images: base: {from: "debian:12", description: "the base", server: "jupyter"}
images: plain: {from: "debian:12", description: "starts no server"}
images: code: {parent: "base", server: "vscode", description: "VS Code"}
images: rs: {parent: "base", server: "rstudio", description: "RStudio"}
images: team: {parent: "base", team: "marketing", description: "Marketing analytics", sizes: ["medium", "small"]}
images: old: {parent: "base", deprecated: {reason: "merged into team", replacement: "team"}}
images: dl: {parent: "base", sizes: ["gpu"]}
`

const hostStandIn = "registry.test"

// TestLaunchersGolden: from an in-process registry holding a latest
// version, one deprecated within its grace, one past its end of life, a
// retired image and an unpublished one, images of the three servers and
// one that starts none.
func TestLaunchersGolden(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	addr := strings.TrimPrefix(srv.URL, "http://")
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "lib.cue"), []byte(strings.ReplaceAll(lib, "REGISTRY", addr)), 0o644))
	l, err := spec.Load(dir)
	require.NoError(t, err)
	dg := map[string]string{}
	push := func(image, version string) {
		dg[image+"@"+version] = it.Push(t, addr+"/ds/"+image+":"+version, it.Version{
			Annotations: map[string]string{published.AnnotationContentKey: "key-" + image + version},
			Platforms:   []it.Platform{{Platform: "linux/amd64", Layers: []string{image + version}}},
		})
	}
	tag := func(image, tag, version string) {
		d, err := name.NewDigest(addr+"/ds/"+image+"@"+dg[image+"@"+version], name.Insecure)
		require.NoError(t, err)
		desc, err := remote.Get(d)
		require.NoError(t, err)
		require.NoError(t, remote.Tag(d.Context().Tag(tag), desc))
	}
	mark := func(image, version string, m lifecycle.Marker) {
		d, err := name.NewDigest(addr+"/ds/"+image+"@"+dg[image+"@"+version], name.Insecure)
		require.NoError(t, err)
		desc, err := remote.Head(d)
		require.NoError(t, err)
		m.Subject = *desc
		_, err = lifecycle.NewWriter().MarkAll(context.Background(), d.Context(), *desc, m)
		require.NoError(t, err)
	}
	push("base", "2026.10.01")
	tag("base", "latest", "2026.10.01")
	for _, v := range []string{"2026.10.01", "2026.11.01", "2026.12.01"} {
		push("team", v)
	}
	tag("team", "latest", "2026.12.01")
	mark("team", "2026.10.01", lifecycle.Marker{EndOfLife: "2026-11-30", Date: "2026-11-01", Reason: "superseded by 2026.11.01", SupersededByTag: "2026.11.01"})
	mark("team", "2026.11.01", lifecycle.Marker{EndOfLife: "2026-12-31", Date: "2026-12-01", Reason: "superseded by 2026.12.01", SupersededByTag: "2026.12.01"})
	for _, im := range []string{"plain", "code", "rs"} {
		push(im, "2026.12.01")
		tag(im, "latest", "2026.12.01")
	}
	push("old", "2026.11.01")
	tag("old", "latest", "2026.11.01")
	mark("old", "2026.11.01", lifecycle.Marker{EndOfLife: "2026-12-31", Date: "2026-12-01", Reason: "retired: merged into team", Replacement: "team"})

	rep, err := status.Collect(context.Background(), l, readmodel.Remote{C: regclient.New()}, status.Options{Jobs: 2})
	require.NoError(t, err)
	ls := launcher.Of(l, rep, "2026-12-07")

	var names, servers []string
	for _, im := range ls.Images {
		names, servers = append(names, im.Name), append(servers, im.Server)
	}
	assert.Equal(t, []string{"team", "base", "code", "rs"}, names, "old is retired, dl unpublished, plain starts no server")
	assert.Equal(t, []string{"jupyter", "jupyter", "vscode", "rstudio"}, servers, "team inherits base's")
	team := ls.Images[0]
	assert.Equal(t, "team", team.Name, "team environments first, the default")
	assert.True(t, team.Default)
	var versions []string
	for _, v := range team.Versions {
		versions = append(versions, v.Label)
		assert.Equal(t, addr+"/ds/team@"+v.Digest, v.Image, "by digest")
	}
	assert.Equal(t, []string{"2026.12.01 (latest)", "2026.11.01 (deprecated, end of life 2026-12-31)"}, versions, "not 2026.10.01: past its end of life")
	assert.Equal(t, []string{"medium", "small"}, team.Sizes)
	assert.Equal(t, []string{"small", "medium"}, ls.Images[1].Sizes, "base offers every preset without a GPU")

	var hub, kf, js bytes.Buffer
	require.NoError(t, ls.WriteJupyterHub(&hub))
	require.NoError(t, ls.WriteKubeflow(&kf))
	require.NoError(t, ls.WriteJSON(&js))
	for name, b := range map[string][]byte{"jupyterhub.yaml": hub.Bytes(), "kubeflow.yaml": kf.Bytes(), "launchers.json": js.Bytes()} {
		goldentest.Check(t, name, bytes.ReplaceAll(b, []byte(addr), []byte(hostStandIn)))
	}
	assert.Contains(t, hub.String(), "mem_limit: 1536M", "1.5Gi in KubeSpawner's byte form")
	assert.NotContains(t, hub.String(), "/ds/rs@", "JupyterHub lists Jupyter images")
	assert.Contains(t, kf.String(), "imageGroupTwo:\n    value: "+addr+"/ds/rs@"+dg["rs@2026.12.01"], "RStudio in group two")
	assert.Contains(t, kf.String(), "imageGroupOne:\n    value: "+addr+"/ds/code@"+dg["code@2026.12.01"], "VS Code in group one")
}

func TestByteSpec(t *testing.T) {
	for b, want := range map[int64]string{4 << 30: "4G", 1536 << 20: "1536M", 1 << 40: "1T", 1000: "1K", 3 << 10: "3K"} {
		assert.Equal(t, want, launcher.ByteSpec(b), "%d", b)
	}
}
