package cli

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/buildkit/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/internal/e2etest"
	"github.com/imgctl/imgctl/pkg/build"
	"github.com/imgctl/imgctl/pkg/imagetest"
	"github.com/imgctl/imgctl/pkg/regclient"
)

// TestExampleLibraryValidatesOnFreshClone: a newcomer's first command works
// on the repository as cloned, with no generated file.
func TestExampleLibraryValidatesOnFreshClone(t *testing.T) {
	var out, errOut strings.Builder
	code := Run(context.Background(), []string{"validate", filepath.Join("..", "..", "images")}, &out, &errOut)
	require.Equal(t, 0, code, "imgctl validate images:\n%s%s", out.String(), errOut.String())
}

// exampleLibrary publishes the repository's own example library (images/,
// FROM the Debian base of hack/base/) to a fresh distribution registry, as
// `make demo` does, and returns the registry and the spec directory.
func exampleLibrary(t *testing.T) (reg, dir string) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end: builds the example library (Debian mirror, BuildKit, registry)")
	}
	reg = e2etest.Registry(t)
	e2etest.RequirePlatforms(t, useBuildKit(t), "linux/arm64")
	root := e2etest.RepoRoot(t)
	tmp := t.TempDir()
	base, dir := filepath.Join(tmp, "base"), filepath.Join(tmp, "images")
	copySpecs(t, filepath.Join(root, "hack", "base"), base, reg)
	copySpecs(t, filepath.Join(root, "images"), dir, reg)
	require.NoError(t, os.MkdirAll(filepath.Join(base, "build"), 0o755))
	for _, arch := range []string{"amd64", "arm64"} {
		e2etest.LinkOrCopy(t, e2etest.DebianRootfsFor(t, arch), filepath.Join(base, "build", "debian-bookworm-"+arch+".tar"))
	}

	publish := func(args ...string) {
		t.Helper()
		var out, errOut strings.Builder
		code := Run(context.Background(), append([]string{"publish", "--progress", "plain"}, args...), &out, &errOut)
		require.Equal(t, 0, code, "imgctl publish %s:\n%s\n%s", strings.Join(args, " "), out.String(), tailLines(errOut.String(), 60))
	}
	lock := func(args ...string) {
		t.Helper()
		var out, errOut strings.Builder
		code := Run(context.Background(), append([]string{"lock", dir}, args...), &out, &errOut)
		require.Equal(t, 0, code, "imgctl lock %s:\n%s\n%s", strings.Join(args, " "), out.String(), tailLines(errOut.String(), 60))
	}
	publish(base, "--date", "2026-10-01")
	// The registry is another here: the locks' inputs (the base's
	// reference) moved, so they are resolved again, keeping their pins
	// (the same versions); credit-risk's needs r@2026.11.01 published.
	lock("r")
	// credit-risk pins r@2026.11.01: publish r as it was that day (the demo backfills it too).
	publish(dir, "--target", "r", "--date", "2026-11-01")
	lock()
	publish(dir, "--date", "2026-11-24")
	return reg, dir
}

// copySpecs copies the .cue files and data of a spec directory, pointing
// localhost:5000 at reg.
func copySpecs(t *testing.T, from, to, reg string) {
	t.Helper()
	require.NoError(t, os.CopyFS(to, os.DirFS(from)))
	require.NoError(t, filepath.WalkDir(to, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(p) != ".cue" {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(p, []byte(strings.ReplaceAll(string(b), "localhost:5000", reg)), 0o644)
	}))
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// pulled is an image of the example library as its users get it:
// latest, by digest, with its config.
type pulled struct {
	ref    string
	config ocispec.ImageConfig
}

// latestOf is name's latest, by the digest of its index, with plat's
// config.
func latestOf(t *testing.T, reg, name string, plat ocispec.Platform) pulled {
	t.Helper()
	var insp struct{ Digest string }
	repo := reg + "/datasci/" + name
	require.NoError(t, json.Unmarshal(e2etest.Skopeo(t, "inspect", "--tls-verify=false", "docker://"+repo+":latest"), &insp))
	ref := repo + "@" + insp.Digest
	img, _, err := build.BaseConfig(context.Background(), ref, true, plat, regclient.New().ReadOptions)
	require.NoError(t, err)
	return pulled{ref: ref, config: img.Config}
}

// TestExampleEnvironmentsWorkForTheirUsers runs every example image as its
// configured user, in its workdir, with its env, and does what a data
// scientist does first: read the team's dataset, import the stack, start
// the notebook server, and install a package at runtime without root.
func TestExampleEnvironmentsWorkForTheirUsers(t *testing.T) {
	t.Parallel()
	reg, _ := exampleLibrary(t)
	bk, err := client.New(context.Background(), os.Getenv("BUILDKIT_HOST"))
	require.NoError(t, err)
	defer bk.Close()

	pypi := e2etest.ServePyPI(t, "", "", "imgctlprobe")
	cran := e2etest.ServeCRAN(t, map[string][]byte{"imgctlprobe_1.0.tar.gz": e2etest.RSourcePackage(t, "imgctlprobe", "1.0", "installed at runtime")})
	segments, err := os.ReadFile(filepath.Join(e2etest.RepoRoot(t), "images", "data", "marketing", "segments.csv"))
	require.NoError(t, err)
	segmentsSum := fmt.Sprintf("%x", sha256.Sum256(segments))
	port := freePort(t)
	hubVersion, err := exec.Command("jupyterhub", "--version").Output()
	require.NoError(t, err, "Debian's jupyterhub (hack/install-deps.sh apt)")

	checks := []struct {
		image, what, script, want string
		arch                      string // "" is amd64
	}{
		// arm64, through QEMU: the base and the small tools image.
		{"debian", "arm64 too", `uname -m`, "aarch64", "arm64"},
		{"tools", "arm64: the user's tools", `uname -m && id -u && git --version && jq --version`, "aarch64\n1000\ngit version", "arm64"},
		{"tools", "amd64: the user's tools", `uname -m && id -u && curl --version | head -1`, "x86_64\n1000\ncurl", ""},
		// Every image: its command exists for its user.
		{"debian", "runs as root, bash present", `id -u && bash -c 'echo bash ok'`, "0\nbash ok", ""},
		{"python3", "python3 is the family's environment", `command -v python3 && command -v pip && python3 -c "import numpy, pandas, sys; print(sys.prefix)"`, "/opt/venv/bin/python3\n/opt/venv/bin/pip\n/opt/venv", ""},
		{"r", "R with a writable user library first", `Rscript -e 'cat(.libPaths()[1], "\n")'`, "/opt/R/library", ""},
		// marketing: the seeded dataset is readable by its user and intact.
		{"marketing", "runs as the unprivileged user in its home", `id -u && id -g && pwd && echo "$HOME"`, "1000\n1000\n/home/ds\n/home/ds", ""},
		{"marketing", "dataset directory is a normal root-owned directory", `stat -c '%a %U:%G' /opt/data /opt/data/segments.csv`, "755 root:root\n444 root:root", ""},
		{"marketing", "dataset readable and intact", `sha256sum "$SEGMENTS_CSV"`, segmentsSum + "  /opt/data/segments.csv", ""},
		{"marketing", "the scientific stack imports", `python3 -c "import sklearn, pandas; print('ok')"`, "ok", ""},
		{"marketing", "pip install at runtime, as the user", `pip install --no-cache-dir --index-url ` + pypi.URL + `/simple/ imgctlprobe >/dev/null && python3 -c "import imgctlprobe; print(imgctlprobe.VALUE)"`, "from the private index", ""},
		{"marketing", "pip install --user at runtime", `pip install --user --no-cache-dir --index-url ` + pypi.URL + `/simple/ imgctlprobe >/dev/null && python3 -c "import imgctlprobe; print(imgctlprobe.__file__)"`, "/home/ds/.local/lib/python3.11/site-packages/imgctlprobe/__init__.py", ""},
		// notebook: the server starts as the user and answers /api; its kernels use the environment.
		{"notebook", "runs as the unprivileged user", `id -u`, "1000", ""},
		{"notebook", "notebook server answers /api", notebookScript(port), `"version"`, ""},
		{"notebook", "jupyterhub-singleuser at the hub's version", `jupyterhub-singleuser --version`, strings.TrimSpace(string(hubVersion)), ""},
		{"notebook", "a kernel started by the hub's single-user Python runs in the environment", kernelScript, "kernel: /opt/venv/bin/python3", ""},
		{"notebook", "pip install at runtime, as the user", `pip install --no-cache-dir --index-url ` + pypi.URL + `/simple/ imgctlprobe >/dev/null && python3 -c "import imgctlprobe; print(imgctlprobe.VALUE)"`, "from the private index", ""},
		// credit-risk: R loads ggplot2 and installs from a CRAN-like repository as the user.
		{"credit-risk", "runs as the unprivileged user", `id -u`, "1000", ""},
		{"credit-risk", "ggplot2 loads", `Rscript -e 'suppressPackageStartupMessages(library(ggplot2)); cat(as.character(packageVersion("ggplot2")), "\n")'`, "3.4", ""},
		{"credit-risk", "install.packages at runtime, as the user", `Rscript -e 'install.packages("imgctlprobe", repos = "` + cran.URL + `", quiet = TRUE); library(imgctlprobe); cat(hello(), "\n"); cat(find.package("imgctlprobe"), "\n")'`, "installed at runtime \n/opt/R/library/imgctlprobe", ""},
	}
	images := map[string]pulled{}
	for _, c := range checks {
		t.Run(c.image+"/"+c.what, func(t *testing.T) {
			plat := ocispec.Platform{OS: "linux", Architecture: "amd64"}
			if c.arch != "" {
				plat.Architecture = c.arch
			}
			im, ok := images[c.image+"/"+plat.Architecture]
			if !ok {
				im = latestOf(t, reg, c.image, plat)
				images[c.image+"/"+plat.Architecture] = im
			}
			res, err := imagetest.Run(context.Background(), bk, imagetest.Image{
				Ref: im.ref, Platform: plat, Config: im.config,
			}, c.script)
			require.NoError(t, err)
			require.Contains(t, res.Output, c.want, "output of %q", c.script)
		})
	}
	require.True(t, cran.Requested("/src/contrib/imgctlprobe_1.0.tar.gz"), "install.packages did not fetch from the loopback repository: %q", cran.Requests())
}

// kernelScript starts the default kernel as jupyterhub-singleuser's Python
// (Debian's /usr/bin/python3) would and prints the kernel's own Python:
// %pip install in a notebook installs where that Python does.
const kernelScript = `/usr/bin/python3 - <<'EOF'
from jupyter_client.manager import start_new_kernel
km, kc = start_new_kernel(kernel_name="python3")
try:
    kc.execute("import sys; print('kernel:', sys.executable)")
    while True:
        msg = kc.get_iopub_msg(timeout=60)
        if msg["msg_type"] == "stream":
            print(msg["content"]["text"].strip())
            break
finally:
    kc.stop_channels()
    km.shutdown_kernel(now=True)
EOF`

// notebookScript starts the image's notebook server the way its cmd does
// (python3 -m notebook) on port and prints what /api answers.
func notebookScript(port int) string {
	return fmt.Sprintf(`python3 -m notebook --no-browser --ip=127.0.0.1 --port=%d >/tmp/nb.log 2>&1 &
nb=$!
for i in $(seq 1 90); do
  if python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen("http://127.0.0.1:%d/api", timeout=2).read().decode())' 2>/dev/null; then ok=1; break; fi
  sleep 1
done
kill $nb; wait $nb 2>/dev/null
[ "$ok" = 1 ] || { cat /tmp/nb.log; exit 1; }`, port, port)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
