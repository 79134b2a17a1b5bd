package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/imgctl/imgctl/internal/e2etest"
)

// hubLib is a Debian root carrying Debian's jupyterhub (so
// jupyterhub-singleuser, at the hub's version) run as an unprivileged
// user, and a child of it that offers one size. Sizes small and medium
// are offered by lab; gpu by none.
const hubLib = `package lib

registry: "REGISTRY/e2e"
policy: graceDays: 30
sizes: {
	small: {cpu: 0.5, memory: "512Mi", description: "Notebooks"}
	medium: {cpu: 1.5, memory: "1Gi"}
	gpu: {cpu: 1, memory: "2Gi", gpu: {count: 1}}
}
images: lab: {
	description: "A lab"
	from:   "scratch"
	rootfs: "debian-amd64.tar"
	env: {PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", HOME: "/home/ds", ROUND: "1"}
	apt: ["jupyterhub"]
	// workdir makes /home/ds (as root) before run: steps run in it.
	run: ["useradd --uid 1000 --user-group --create-home --home-dir /home/ds ds && chown ds:ds /home/ds"]
	user:    "1000:1000"
	workdir: "/home/ds"
	server:  "jupyter"
}
images: big: {
	description: "A bigger lab"
	parent: "lab"
	sizes: ["medium"]
	env: BIG: "1"
}
`

// TestJupyterHubLaunchesPublishedImages publishes a library in two
// versions, writes its profiles with imgctl launcher jupyterhub, and
// configures a real JupyterHub (Debian's 3.0 and its
// configurable-http-proxy) from them, with a test spawner
// (testdata/jupyterhub/podmanspawner.py) that chooses among the profiles
// as KubeSpawner does and runs the image with podman under the size's
// limits. Through the hub's REST API users start servers choosing image,
// size and version: each server answers through the hub's proxy, its
// container's memory and CPU limits are the preset's, the deprecated
// version runs that exact digest, the default is latest of the default
// profile at its default size, and a version or size not offered is
// refused.
func TestJupyterHubLaunchesPublishedImages(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("end-to-end")
	}
	// The test's own podman store: the images it pulls go with it. Made
	// before the hub, so the hub stops before its containers are removed.
	podman := e2etest.Podman(t)
	podmanIn := func(args ...string) *exec.Cmd {
		return exec.Command(podman[0], append(podman[1:len(podman):len(podman)], args...)...)
	}
	useBuildKit(t)
	dir := t.TempDir()
	e2etest.LinkOrCopy(t, e2etest.DebianRootfs(t), filepath.Join(dir, "debian-amd64.tar"))
	e := &e2e{t: t, dir: dir, reg: e2etest.Registry(t), src: hubLib}
	e.write()
	_, out, errOut, code := e.publish("2026-12-01")
	require.Equal(t, 0, code, "publish:\n%s\n%s", out, errOut)
	old, _ := e.manifest("lab", "2026.12.01")
	e.edit(`ROUND: "1"`, `ROUND: "2"`)
	_, out, errOut, code = e.publish("2026-12-07")
	require.Equal(t, 0, code, "publish:\n%s\n%s", out, errOut)
	latest, _ := e.manifest("lab", "latest")
	require.NotEqual(t, old, latest)
	bigLatest, _ := e.manifest("big", "latest")

	values := filepath.Join(t.TempDir(), "jupyterhub-values.yaml")
	code, out, errOut = e.run("launcher", "jupyterhub", dir, "--out", values, "--date", "2026-12-07")
	require.Equal(t, 0, code, "%s\n%s", out, errOut)
	profiles := readProfiles(t, values)
	require.Len(t, profiles, 2)
	var def string
	for _, p := range profiles {
		if p.Default {
			def = p.Slug
		}
	}
	require.NotEmpty(t, def, "one profile is the default")

	fixture, err := filepath.Abs(filepath.Join("testdata", "jupyterhub"))
	require.NoError(t, err)
	prefix := fmt.Sprintf("imgctl-hub-%d", time.Now().UnixNano())
	podmanJSON, err := json.Marshal(podman)
	require.NoError(t, err)
	hub := e2etest.JupyterHub(t, fmt.Sprintf(`
import yaml
with open(%q) as f:
    values = yaml.safe_load(f)
c.JupyterHub.spawner_class = "podmanspawner.PodmanProfileSpawner"
c.PodmanProfileSpawner.profile_list = values["singleuser"]["profileList"]
c.PodmanProfileSpawner.name_prefix = %q
c.PodmanProfileSpawner.podman = %s
`, values, prefix, podmanJSON), fixture)

	hub.API(http.MethodPost, "/users", map[string][]string{"usernames": {"alice", "bob", "carol"}})
	start := func(user string, options map[string]string) {
		t.Helper()
		hub.API(http.MethodPost, "/users/"+user+"/server", options)
		hub.WaitReady(user, 5*time.Minute)
	}
	inspect := func(user, format string) string {
		t.Helper()
		b, err := podmanIn("inspect", "--format", format, prefix+"-"+user).CombinedOutput()
		require.NoError(t, err, "%s", b)
		return strings.TrimSpace(string(b))
	}
	inside := func(user string, args ...string) string {
		t.Helper()
		b, err := podmanIn(append([]string{"exec", prefix + "-" + user}, args...)...).CombinedOutput()
		require.NoError(t, err, "%s", b)
		return strings.TrimSpace(string(b))
	}
	memoryLimit := func(user string) string { // cgroup v1 or v2, as the container sees it
		return inside(user, "sh", "-c", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max")
	}
	answers := func(user string) {
		t.Helper()
		status, body, err := hub.Get("/user/" + user + "/api/status")
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status, "through the proxy: %s", body)
		var st map[string]any
		require.NoError(t, json.Unmarshal(body, &st), "%s", body)
		assert.Contains(t, st, "started")
	}
	const mi = 1 << 20

	// alice: lab, medium, the deprecated version.
	start("alice", map[string]string{"profile": "lab", "size": "medium", "version": "2026.12.01"})
	answers("alice")
	repo := e.reg + "/e2e/lab"
	assert.Equal(t, repo+"@"+old, inspect("alice", "{{.ImageName}}"), "the deprecated version by digest")
	assert.Equal(t, "1", inside("alice", "printenv", "ROUND"), "the deprecated version's content")
	assert.Equal(t, strconv.Itoa(1024*mi), inspect("alice", "{{.HostConfig.Memory}}"))
	assert.Equal(t, strconv.Itoa(1024*mi), memoryLimit("alice"))
	assert.Equal(t, "1500000000", inspect("alice", "{{.HostConfig.NanoCpus}}"))
	assert.Equal(t, "1000", inside("alice", "id", "-u"), "the image's user")
	hubVersion, err := exec.Command("jupyterhub", "--version").Output()
	require.NoError(t, err)
	assert.Equal(t, strings.TrimSpace(string(hubVersion)),
		inside("alice", "python3", "-c", "import jupyterhub; print(jupyterhub.__version__)"), "jupyterhub-singleuser at the hub's version")

	// bob: nothing chosen: the default profile, its default size, latest.
	start("bob", nil)
	answers("bob")
	wantBob, wantBobMem := repo+"@"+latest, 512*mi
	if def == "big" {
		wantBob, wantBobMem = e.reg+"/e2e/big@"+bigLatest, 1024*mi
	}
	assert.Equal(t, wantBob, inspect("bob", "{{.ImageName}}"))
	assert.Equal(t, strconv.Itoa(wantBobMem), inspect("bob", "{{.HostConfig.Memory}}"))
	assert.Equal(t, strconv.Itoa(wantBobMem), memoryLimit("bob"))

	// carol: big, which offers medium alone; small and a version past
	// what was published are refused before anything runs.
	_, err = hub.Try(http.MethodPost, "/users/carol/server", map[string]string{"profile": "big", "size": "small"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "has no size 'small'")
	_, err = hub.Try(http.MethodPost, "/users/carol/server", map[string]string{"profile": "lab", "version": "2026.11.01"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "has no version '2026.11.01'")
	start("carol", map[string]string{"profile": "big"})
	answers("carol")
	assert.Equal(t, e.reg+"/e2e/big@"+bigLatest, inspect("carol", "{{.ImageName}}"))
	assert.Equal(t, "1", inside("carol", "printenv", "BIG"))
	assert.Equal(t, strconv.Itoa(1024*mi), memoryLimit("carol"))

	// Stopping through the hub removes the container.
	hub.API(http.MethodDelete, "/users/alice/server", nil)
	require.Eventually(t, func() bool {
		return podmanIn("container", "exists", prefix+"-alice").Run() != nil
	}, time.Minute, time.Second, "alice's container is removed")
}

// profile is what the test reads of a KubeSpawner profile.
type profile struct {
	Slug    string `yaml:"slug"`
	Default bool   `yaml:"default"`
}

func readProfiles(t *testing.T, path string) []profile {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var v struct {
		Singleuser struct {
			ProfileList []profile `yaml:"profileList"`
		} `yaml:"singleuser"`
	}
	require.NoError(t, yaml.Unmarshal(b, &v), "%s", b)
	return v.Singleuser.ProfileList
}
