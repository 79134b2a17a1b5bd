package build

import (
	"fmt"
	"net/url"
	"os"
	"sort"
	"strings"

	"github.com/imgctl/imgctl/pkg/spec"
)

// PipCredentialsSecret is the BuildKit secret id that carries the private
// pip index credentials, "user:password", in Request.Secrets. Build
// percent-encodes the two parts before the daemon sees them; the pip step
// reads the encoded form from $PipCredentialsEnv and splices it into the
// index URL inside its shell command.
const PipCredentialsSecret = "pip-index-credentials"

// PipCredentialsEnv is the environment variable the pip step gets the
// credentials in. It exists only while that step runs.
const PipCredentialsEnv = "PIP_INDEX_CREDENTIALS"

// DefaultPath is the PATH of an image whose base sets none.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// DefaultRRepo is the CRAN mirror R packages come from when r.repo is unset.
const DefaultRRepo = "https://cloud.r-project.org"

// SourceDateEpoch is the time recorded for everything an image build
// creates: history entries, the config's "created", and (clamped) every
// file timestamp in new layers. Run steps see it as $SOURCE_DATE_EPOCH so
// tools that honour it (Python's byte-compiler, R, dpkg) write reproducible
// output.
const SourceDateEpoch = 0

// buildUser is the user every install and run step runs as.
const buildUser = "0:0"

// aptCleanup is removed after an apt install: the package lists (like
// Debian's own images) and logs and caches that hold timestamps, so the
// same packages give the same layer.
const aptCleanup = "/var/lib/apt/lists/* /var/log/apt/* /var/log/dpkg.log /var/log/alternatives.log /var/cache/ldconfig/aux-cache"

// stepKind says what a step does.
type stepKind int

const (
	// kindConfig changes only the image config: an empty-layer history entry.
	kindConfig stepKind = iota
	// kindCopy copies a file from the spec directory: one layer.
	kindCopy
	// kindUnpack unpacks the rootfs tar at "/": one layer.
	kindUnpack
	// kindShell runs a shell script: one layer.
	kindShell
)

// step is one instruction of an image build, in build order. The LLB, the
// history entries of the config and the Dockerfile rendering are all made
// from the same steps.
type step struct {
	kind stepKind
	// field is the spec field behind the step: "rootfs", "apt", "pip", "r",
	// "files[0]", "run[2]", "env", …
	field string
	// createdBy is the human command: the history entry's created_by and
	// the Dockerfile line (without secret mounts).
	createdBy string
	// script is what kindShell steps run with /bin/sh -c.
	script string
	// src (relative to the spec directory), dest and mode of kindCopy and
	// kindUnpack steps.
	src, dest string
	mode      os.FileMode
	// secret is the id of the secret a kindShell step gets as $secretEnv.
	secret, secretEnv string
}

// installsPackages reports whether the step is a package install (apt,
// pip, r): what a refresh runs again.
func (s step) installsPackages() bool {
	return s.kind == kindShell && (s.field == "apt" || s.field == "pip" || s.field == "r")
}

// layer reports whether the step adds a layer.
func (s step) layer() bool { return s.kind != kindConfig }

// steps returns the build steps of im for platform in order. pathDefault
// is true when the image's PATH comes from DefaultPath (the base sets none
// and neither does the spec), so the ENV step records it.
func steps(im *spec.Image, platform string, pathDefault bool) ([]step, error) {
	var out []step
	if im.HasRootfs() {
		src, _, ok := im.RootfsFor(platform)
		if !ok {
			return nil, fmt.Errorf("rootfs: no archive for %s", platform)
		}
		out = append(out, step{
			kind: kindUnpack, field: "rootfs",
			createdBy: "ADD " + dockerfileWord(src) + " /",
			src:       src, dest: "/",
		})
	}
	if env := envAssignments(im.Env, pathDefault); env != "" {
		out = append(out, step{kind: kindConfig, field: "env", createdBy: "ENV " + env})
	}
	if im.Workdir != "" {
		out = append(out, step{kind: kindConfig, field: "workdir", createdBy: "WORKDIR " + im.Workdir})
	}
	pkgs, err := packageSteps(im, platform)
	if err != nil {
		return nil, err
	}
	out = append(out, pkgs...)
	for i, f := range im.Files {
		mode := os.FileMode(f.Mode) & 0o7777
		out = append(out, step{
			kind: kindCopy, field: fmt.Sprintf("files[%d]", i),
			createdBy: fmt.Sprintf("COPY --chmod=%04o %s %s", mode, dockerfileWord(f.Src), dockerfileWord(f.Dest)),
			src:       f.Src, dest: f.Dest, mode: mode,
		})
	}
	for i, cmd := range im.Run {
		out = append(out, shellStep(fmt.Sprintf("run[%d]", i), cmd))
	}
	if im.User != "" {
		out = append(out, step{kind: kindConfig, field: "user", createdBy: "USER " + im.User})
	}
	if len(im.Ports) > 0 {
		ports := make([]string, len(im.Ports))
		for i, p := range im.Ports {
			ports[i] = portKey(p)
		}
		out = append(out, step{kind: kindConfig, field: "ports", createdBy: "EXPOSE " + strings.Join(ports, " ")})
	}
	if len(im.Labels) > 0 {
		var b strings.Builder
		b.WriteString("LABEL")
		for _, k := range sortedKeys(im.Labels) {
			fmt.Fprintf(&b, " %s=%s", dockerfileValue(k), dockerfileValue(im.Labels[k]))
		}
		out = append(out, step{kind: kindConfig, field: "labels", createdBy: b.String()})
	}
	if im.Entrypoint != nil {
		out = append(out, step{kind: kindConfig, field: "entrypoint", createdBy: "ENTRYPOINT " + jsonArray(im.Entrypoint)})
	}
	if im.Cmd != nil {
		out = append(out, step{kind: kindConfig, field: "cmd", createdBy: "CMD " + jsonArray(im.Cmd)})
	}
	return out, nil
}

// packageSteps are im's package installs for platform, apt then pip then
// r: from the lock when the image is locked, else from the spec's lists.
func packageSteps(im *spec.Image, platform string) ([]step, error) {
	var out []step
	pipStep := func(script string) {
		s := shellStep("pip", script)
		if im.Pip.CredentialsEnv != "" {
			s.secret, s.secretEnv = PipCredentialsSecret, PipCredentialsEnv
		}
		out = append(out, s)
	}
	if im.Locked() {
		p, err := lockedPackages(im, platform)
		if err != nil {
			return nil, err
		}
		if len(p.Apt) > 0 {
			out = append(out, shellStep("apt", aptLockedScript(im.Name, p.Apt)))
		}
		if len(p.Pip) > 0 && im.Pip != nil {
			script, err := pipLockedScript(im.Pip, p.Pip)
			if err != nil {
				return nil, err
			}
			pipStep(script)
		}
		if len(p.R) > 0 && im.R != nil {
			out = append(out, shellStep("r", rLockedScript(im.Name, im.R, p.R)))
		}
		return out, nil
	}
	if len(im.Apt) > 0 {
		out = append(out, shellStep("apt", aptScript(im.Apt, im.AptRecommends)))
	}
	if im.Pip != nil && len(im.Pip.Packages) > 0 {
		script, err := pipScript(im.Pip)
		if err != nil {
			return nil, err
		}
		pipStep(script)
	}
	if im.R != nil && len(im.R.Packages) > 0 {
		out = append(out, shellStep("r", rScript(im.R)))
	}
	return out, nil
}

func shellStep(field, script string) step {
	return step{kind: kindShell, field: field, createdBy: "RUN /bin/sh -c " + script, script: script}
}

// aptScript installs pkgs from the base's apt sources and leaves no lists,
// caches or logs behind.
func aptScript(pkgs []string, recommends bool) string {
	flag := " --no-install-recommends"
	if recommends {
		flag = ""
	}
	return "export DEBIAN_FRONTEND=noninteractive && apt-get update && apt-get install -y" + flag + " " +
		shellWords(pkgs) + " && apt-get clean && rm -rf " + aptCleanup
}

// pipScript installs p.Packages. With credentials, the encoded
// "user:password" from $PipCredentialsEnv is spliced into the index URL by
// the shell, so the definition holds only the variable's name.
func pipScript(p *spec.Pip) (string, error) {
	var b strings.Builder
	// PIP_BREAK_SYSTEM_PACKAGES lets pip >= 23 install next to Debian's
	// packages (PEP 668); older pips ignore it. The version check would
	// reach out to PyPI.
	b.WriteString("PIP_BREAK_SYSTEM_PACKAGES=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore pip install --no-cache-dir")
	if p.Index != "" {
		u, err := url.Parse(p.Index)
		if err != nil {
			return "", fmt.Errorf("parsing pip index %q: %w", p.Index, err)
		}
		if u.User != nil {
			return "", fmt.Errorf("pip index %q holds credentials; set pip.credentialsEnv instead", u.Redacted())
		}
		b.WriteString(" --index-url ")
		if p.CredentialsEnv != "" {
			if u.Scheme != "http" && u.Scheme != "https" {
				return "", fmt.Errorf("pip index %q: credentials need an http or https index", p.Index)
			}
			rest := strings.TrimPrefix(p.Index, u.Scheme+"://")
			b.WriteString(shellQuote(u.Scheme+"://") + `"${` + PipCredentialsEnv + `}"` + shellQuote("@"+rest))
		} else {
			b.WriteString(shellQuote(p.Index))
		}
		if u.Scheme == "http" {
			b.WriteString(" --trusted-host " + shellQuote(u.Host))
		}
	} else if p.CredentialsEnv != "" {
		return "", fmt.Errorf("pip.credentialsEnv is set but pip.index is not")
	}
	b.WriteString(" " + shellWords(p.Packages))
	return b.String(), nil
}

// PipCommand is the pip install command of p without its packages: the
// index (credentials from $PipCredentialsEnv), trusted hosts and the
// environment that lets pip run next to Debian's packages. Resolution
// (pkg/resolve) asks the same index the same way as a build.
func PipCommand(p *spec.Pip) (string, error) {
	s, err := pipScript(&spec.Pip{Index: p.Index, CredentialsEnv: p.CredentialsEnv})
	return strings.TrimRight(s, " "), err
}

// RRepo is the repository R packages of r come from.
func RRepo(r *spec.R) string {
	if r == nil || r.Repo == "" {
		return DefaultRRepo
	}
	return r.Repo
}

// rScript installs r.Packages and fails when one did not install (R's
// install.packages only warns).
func rScript(r *spec.R) string {
	repo := r.Repo
	if repo == "" {
		repo = DefaultRRepo
	}
	names := make([]string, len(r.Packages))
	for i, p := range r.Packages {
		names[i] = rString(p)
	}
	expr := fmt.Sprintf("pkgs <- c(%s); install.packages(pkgs, repos = %s); "+
		"missing <- pkgs[!vapply(pkgs, requireNamespace, logical(1), quietly = TRUE)]; "+
		`if (length(missing) > 0) stop("R packages not installed: ", paste(missing, collapse = ", "))`,
		strings.Join(names, ", "), rString(repo))
	return "Rscript -e " + shellQuote(expr)
}

// envAssignments renders env as sorted KEY=value words, with PATH first
// when it is defaulted.
func envAssignments(env map[string]string, pathDefault bool) string {
	var words []string
	if pathDefault {
		words = append(words, "PATH="+dockerfileValue(DefaultPath))
	}
	for _, k := range sortedKeys(env) {
		words = append(words, k+"="+dockerfileValue(env[k]))
	}
	return strings.Join(words, " ")
}

func portKey(p int) string { return fmt.Sprintf("%d/tcp", p) }

// ShellQuote quotes s for POSIX sh, as the build steps do.
func ShellQuote(s string) string { return shellQuote(s) }

// ShellWords quotes each word for POSIX sh and joins them with spaces.
func ShellWords(words []string) string { return shellWords(words) }

// RString is s as an R string literal.
func RString(s string) string { return rString(s) }

// shellQuote quotes s for POSIX sh.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("@%+=:,./-_", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func shellWords(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = shellQuote(w)
	}
	return strings.Join(q, " ")
}

// rString is s as an R string literal.
func rString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

// dockerfileValue quotes s for an ENV or LABEL value when needed.
func dockerfileValue(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n\"'\\$=") {
		return s
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `\$`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

// dockerfileWord is a path in COPY/ADD; paths with spaces use the JSON form
// in real Dockerfiles, but readability wins in a history entry.
func dockerfileWord(s string) string {
	if strings.ContainsAny(s, " \t\"") {
		return jsonString(s)
	}
	return s
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
