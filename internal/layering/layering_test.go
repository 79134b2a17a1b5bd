package layering

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const mod = "github.com/imgctl/imgctl/"

// forbidden lists, per package, import path prefixes it must not depend on,
// directly or through other packages.
var forbidden = map[string][]string{
	"pkg/graph": {"cuelang.org/", mod + "pkg/spec", mod + "pkg/plan", "github.com/moby/buildkit", "github.com/google/go-containerregistry"},
	"pkg/spec":  {mod + "pkg/plan", mod + "pkg/regclient", mod + "pkg/build", mod + "pkg/publish", "github.com/moby/buildkit"},
	// The planner is pure: the registry reads it needs come through the
	// interfaces it declares (readmodel adapts the client to them).
	"pkg/plan": {mod + "pkg/build", mod + "pkg/publish", mod + "pkg/regclient", mod + "pkg/lifecycle", mod + "pkg/readmodel", "github.com/moby/buildkit", "github.com/google/go-containerregistry/pkg/v1/remote"},
	// The vocabulary is a leaf: nothing of the module, no I/O.
	"pkg/published": {mod, "net", "github.com/", "cuelang.org/"},
	"pkg/regclient": {"cuelang.org/", mod + "pkg/spec", mod + "pkg/plan", mod + "pkg/build", "github.com/moby/buildkit"},
	"pkg/lifecycle": {"cuelang.org/", mod + "pkg/spec", mod + "pkg/plan", mod + "pkg/build", "github.com/moby/buildkit"},
	"pkg/build":     {mod + "pkg/plan", mod + "pkg/publish", mod + "pkg/regclient"},
	// The report reads through the vocabulary, not the planner.
	"pkg/status": {mod + "pkg/build", mod + "pkg/publish", mod + "pkg/plan", "github.com/moby/buildkit"},
	// Retention decides (pure, reading through the interfaces it
	// declares; the status types it reads link registry clients in, so
	// only the writing side is forbidden); prune applies the decision.
	"pkg/retention": {mod + "pkg/build", mod + "pkg/publish", mod + "pkg/plan", mod + "pkg/readmodel", mod + "pkg/prune", "github.com/moby/buildkit"},
	"pkg/prune":     {mod + "pkg/plan", mod + "pkg/build", mod + "pkg/publish", mod + "pkg/readmodel", "github.com/moby/buildkit"},
	// Signing, attestation reading and verification only read or sign
	// what is in a registry: no specs, plans, builds or publishes.
	"pkg/signing": {"cuelang.org/", mod + "pkg/spec", mod + "pkg/plan", mod + "pkg/build", mod + "pkg/publish", "github.com/moby/buildkit"},
	"pkg/attest":  {"cuelang.org/", mod + "pkg/spec", mod + "pkg/plan", mod + "pkg/build", mod + "pkg/publish", mod + "pkg/signing", "github.com/moby/buildkit"},
	"pkg/verify":  {"cuelang.org/", mod + "pkg/spec", mod + "pkg/plan", mod + "pkg/build", mod + "pkg/publish", "github.com/moby/buildkit"},
	// What is inside a version is read from the registry alone; what
	// changed is computed from it, reading nothing.
	"pkg/inventory": {"cuelang.org/", mod + "pkg/spec", mod + "pkg/plan", mod + "pkg/build", mod + "pkg/publish", mod + "pkg/signing", "github.com/moby/buildkit"},
	"pkg/changelog": {"cuelang.org/", mod + "pkg/spec", mod + "pkg/plan", mod + "pkg/build", mod + "pkg/publish", mod + "pkg/regclient", "github.com/moby/buildkit"},
	// The catalog only reads the registry (through status and inventory)
	// and renders; it never builds, publishes, marks or signs.
	"pkg/catalog": {mod + "pkg/build", mod + "pkg/publish", mod + "pkg/buildretry", "github.com/moby/buildkit", "github.com/chromedp/", mod + "internal/"},
	// The scanner image: built with pkg/build, never planned or published.
	"pkg/sbom": {mod + "pkg/plan", mod + "pkg/publish", mod + "pkg/signing"},
	// The pool schedules builds over daemons: it neither plans, publishes,
	// reads the registry nor retries (buildretry wraps it).
	"pkg/buildpool": {mod + "pkg/plan", mod + "pkg/publish", mod + "pkg/regclient", mod + "pkg/buildretry"},
	// The Kubernetes API types are for the manifests' test only. cosign's
	// packages (any of them links Rekor's client, its OpenAPI models and
	// TUF) cost a third of imgctl's start-up: pkg/signing writes and reads
	// cosign's format with sigstore/sigstore and go-containerregistry, and
	// its tests check that against cosign's code and CLI.
	"cmd/imgctl": {"k8s.io/api", "k8s.io/apimachinery", "sigs.k8s.io/yaml", "sigs.k8s.io/kustomize",
		"github.com/sigstore/cosign", "github.com/sigstore/rekor", "github.com/go-openapi/", "github.com/theupdateframework/"},
}

// packages returns every package in the build of the module with its
// direct imports.
func packages(t *testing.T) map[string][]string {
	out, err := exec.Command("go", "list", "-deps", "-f", `{{.ImportPath}} {{join .Imports " "}}`, mod+"...").Output()
	require.NoError(t, err)
	g := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		g[f[0]] = f[1:]
	}
	return g
}

// deps is every package root depends on, directly or not.
func deps(g map[string][]string, root string) map[string]bool {
	seen := map[string]bool{}
	var walk func(string)
	walk = func(p string) {
		for _, d := range g[p] {
			if !seen[d] {
				seen[d] = true
				walk(d)
			}
		}
	}
	walk(root)
	return seen
}

func TestLayering(t *testing.T) {
	g := packages(t)
	for pkg, bad := range forbidden {
		seen := deps(g, mod+pkg)
		for d := range seen {
			for _, b := range bad {
				if under(d, b) {
					t.Errorf("%s depends on %s (forbidden: %s)", pkg, d, b)
				}
			}
		}
	}
}

// under reports whether package d is prefix or below it: a prefix ending in
// "/" matches everything under it, any other matches the package itself
// and its subpackages (pkg/publish is not pkg/published).
func under(d, prefix string) bool {
	if strings.HasSuffix(prefix, "/") {
		return strings.HasPrefix(d, prefix)
	}
	return d == prefix || strings.HasPrefix(d, prefix+"/")
}

// TestOnlySpecImportsCUE keeps CUE inside pkg/spec: no other package of the
// module imports cuelang.org/go itself (they get plain Go values from spec).
func TestOnlySpecImportsCUE(t *testing.T) {
	for p, imports := range packages(t) {
		if !product(p) || p == mod+"pkg/spec" {
			continue
		}
		for _, imp := range imports {
			assert.False(t, strings.HasPrefix(imp, "cuelang.org/"), "%s imports %s: CUE must stay in pkg/spec", p, imp)
		}
	}
}

// product reports whether p is part of imgctl itself (not bench tooling).
func product(p string) bool {
	for _, dir := range []string{"cmd/", "internal/", "pkg/", "schemas"} {
		if strings.HasPrefix(p, mod+dir) {
			return true
		}
	}
	return false
}

// TestEveryPackageHasDocGo: every package says what it does and must not do.
func TestEveryPackageHasDocGo(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{.Name}} {{join .GoFiles " "}}`, mod+"...").Output()
	require.NoError(t, err)
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[1] == "main" || !product(f[0]) {
			continue
		}
		assert.Contains(t, f[2:], "doc.go", "%s has no doc.go", f[0])
	}
}

// TestTestHelpersStayInTests: the fault-injecting proxy and the end-to-end
// helpers are for tests only; nothing imgctl ships depends on them.
func TestTestHelpersStayInTests(t *testing.T) {
	g := packages(t)
	for _, root := range []string{mod + "cmd/imgctl"} {
		seen := deps(g, root)
		for _, helper := range []string{mod + "internal/faultproxy", mod + "internal/e2etest", mod + "internal/goldentest", mod + "internal/browser"} {
			assert.False(t, seen[helper], "%s depends on %s", root, helper)
		}
	}
}
