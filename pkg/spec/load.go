package spec

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"
	cueerrors "cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/load"
	"cuelang.org/go/cue/token"

	"github.com/imgctl/imgctl/schemas"
)

// Load reads the CUE package in dir, unifies it with the imgctl schema,
// decodes it and runs every static check. On failure the error is an Errors
// holding every problem found (or ErrNoDir).
func Load(dir string) (*Library, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("resolving %q: %w", dir, err)
	}
	if st, err := os.Stat(abs); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("%w: %s", ErrNoDir, dir)
	}
	var c collector
	v, schemaDir, err := evaluate(abs, &c)
	if err != nil {
		return nil, err
	}
	if !v.Exists() {
		return nil, c.err() // the package did not load: nothing to decode
	}
	// Decode and check even when CUE reported problems, so that one run
	// reports every mistake; images that fail to decode are left out of the
	// checks (their problems are already reported).
	lib := decode(v, abs, schemaDir, len(c.errs) > 0, &c)
	check(lib, &c)
	if err := c.err(); err != nil {
		return nil, err
	}
	return lib, nil
}

// evaluate loads and validates the package; it returns the #Library-unified
// value (missing when the package cannot be built) and the directory the
// schema overlay lives in. Problems in the specs go to c; the error is only
// for failures of imgctl itself.
func evaluate(dir string, c *collector) (cue.Value, string, error) {
	root := findModuleRoot(dir)
	overlay := map[string]load.Source{}
	if root == "" {
		root = dir
		overlay[filepath.Join(root, "cue.mod", "module.cue")] = load.FromString(
			"module: \"imgctl.local/specs\"\nlanguage: version: \"v0.9.0\"\n")
	}
	schemaDir := filepath.Join(root, "cue.mod", "pkg", filepath.FromSlash(schemas.ImportPath))
	err := fs.WalkDir(schemas.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".cue" {
			return err
		}
		b, err := schemas.FS.ReadFile(p)
		overlay[filepath.Join(schemaDir, filepath.FromSlash(p))] = load.FromBytes(b)
		return err
	})
	if err != nil {
		return cue.Value{}, "", fmt.Errorf("reading embedded schema: %w", err)
	}
	cfg := &load.Config{Dir: dir, ModuleRoot: root, Overlay: overlay}
	insts := load.Instances([]string{".", schemas.ImportPath}, cfg)
	for _, inst := range insts {
		if inst.Err != nil {
			addCUE(c, inst.Err, schemaDir)
		}
	}
	if len(c.errs) > 0 {
		return cue.Value{}, schemaDir, nil
	}
	ctx := cuecontext.New()
	vals, err := ctx.BuildInstances(insts)
	if err != nil {
		addCUE(c, err, schemaDir)
		return cue.Value{}, schemaDir, nil
	}
	lib := vals[1].LookupPath(cue.ParsePath("#Library"))
	if err := lib.Err(); err != nil {
		return cue.Value{}, "", fmt.Errorf("embedded schema has no #Library: %w", err)
	}
	v := lib.Unify(vals[0])
	if err := v.Validate(cue.Concrete(true), cue.All()); err != nil {
		addCUE(c, err, schemaDir)
	}
	return v, schemaDir, nil
}

func findModuleRoot(dir string) string {
	for d := dir; ; {
		if st, err := os.Stat(filepath.Join(d, "cue.mod")); err == nil && st.IsDir() {
			return d
		}
		up := filepath.Dir(d)
		if up == d {
			return ""
		}
		d = up
	}
}

// addCUE converts a CUE error (possibly a list) into positioned Errors. The
// position shown is the first one in a user file; schema positions are used
// only when there is nothing else.
func addCUE(c *collector, err error, schemaDir string) {
	for _, e := range cueerrors.Errors(err) {
		pos := pickPos(cueerrors.Positions(e), schemaDir)
		format, args := e.Msg()
		msg := fmt.Sprintf(format, args...)
		if p := cuePath(e.Path()); p != "" {
			msg = p + ": " + msg
		}
		c.errs = append(c.errs, &Error{Pos: pos, Msg: msg})
	}
}

func cuePath(p []string) string {
	if len(p) > 0 && p[0] == "#Library" {
		p = p[1:]
	}
	return strings.Join(p, ".")
}

func pickPos(ps []token.Pos, schemaDir string) Pos {
	var fallback Pos
	for _, p := range ps {
		if !p.IsValid() {
			continue
		}
		pos := toPos(p)
		if strings.HasPrefix(pos.Filename, schemaDir) {
			if !fallback.IsValid() {
				fallback = pos
			}
			continue
		}
		return pos
	}
	return fallback
}

func toPos(p token.Pos) Pos {
	if !p.IsValid() {
		return Pos{}
	}
	return Pos{Filename: p.Filename(), Line: p.Line(), Column: p.Column()}
}
