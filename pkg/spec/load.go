package spec

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/cuecontext"
	cueerrors "cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/load"
	"cuelang.org/go/cue/parser"
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
	ev, err := evaluate(abs, &c)
	if err != nil {
		return nil, err
	}
	if !ev.value.Exists() {
		return nil, c.err() // the package did not load: nothing to decode
	}
	// Decode and check even when CUE reported problems, so that one run
	// reports every mistake; images that fail to decode are left out of the
	// checks (their problems are already reported).
	lib, idx := decode(ev, abs, len(c.errs) > 0, &c)
	check(lib, idx, &c)
	if len(c.errs) == 0 {
		loadLocks(lib, &c)
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	return lib, nil
}

// schemaFile is the overlay file added to the spec package: it applies the
// schema inside the package's own evaluation (a separate Unify with
// #Library would evaluate the whole library a second time).
const schemaFile = "zz_imgctl_schema.cue"

// topLevel are the regular fields a library may have at the top level.
var topLevel = map[string]bool{"registry": true, "policy": true, "images": true, "sizes": true}

// evaluated is the result of evaluate.
type evaluated struct {
	value cue.Value
	files []*ast.File // the user's files, for positions
	// internal reports whether a file is imgctl's (schema or overlay), so
	// positions prefer the user's files.
	internal func(filename string) bool
}

// evaluate loads and validates the package. The value is missing when the
// package cannot be built. Problems in the specs go to c; the error is only
// for failures of imgctl itself.
func evaluate(dir string, c *collector) (evaluated, error) {
	root := findModuleRoot(dir)
	overlay := map[string]load.Source{}
	if root == "" {
		root = dir
		overlay[filepath.Join(root, "cue.mod", "module.cue")] = load.FromString(
			"module: \"imgctl.local/specs\"\nlanguage: version: \"v0.9.0\"\n")
	}
	schemaDir := filepath.Join(root, "cue.mod", "pkg", filepath.FromSlash(schemas.ImportPath))
	overlayFile := filepath.Join(dir, schemaFile)
	ev := evaluated{internal: func(f string) bool { return f == overlayFile || strings.HasPrefix(f, schemaDir) }}
	err := fs.WalkDir(schemas.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".cue" {
			return err
		}
		b, err := schemas.FS.ReadFile(p)
		overlay[filepath.Join(schemaDir, filepath.FromSlash(p))] = load.FromBytes(b)
		return err
	})
	if err != nil {
		return ev, fmt.Errorf("reading embedded schema: %w", err)
	}
	if pkg := packageName(dir); pkg != "" {
		overlay[overlayFile] = load.FromString(fmt.Sprintf(`package %s

import imgctlschema %q

registry: imgctlschema.#Registry
policy?:  imgctlschema.#Policy
images: [string]: imgctlschema.#Image
sizes?: [string]: imgctlschema.#Size
`, pkg, schemas.ImportPath))
	}
	cfg := &load.Config{Dir: dir, ModuleRoot: root, Overlay: overlay}
	insts := load.Instances([]string{"."}, cfg)
	if err := insts[0].Err; err != nil {
		addCUE(c, err, ev.internal)
		return ev, nil
	}
	for _, f := range insts[0].Files {
		if !ev.internal(f.Filename) {
			ev.files = append(ev.files, f)
		}
	}
	v := cuecontext.New().BuildInstance(insts[0])
	// Validate rather than Err: it reports every problem, not the first.
	if err := v.Validate(cue.Concrete(true), cue.All()); err != nil {
		addCUE(c, err, ev.internal, userPos(v, ev.internal))
	} else if err := v.Err(); err != nil {
		addCUE(c, err, ev.internal, userPos(v, ev.internal))
	}
	if !v.Exists() {
		return ev, nil
	}
	ev.value = v
	// The top level is closed like #Library: unknown regular fields are
	// mistakes (hidden fields and definitions are for composition).
	if it, err := v.Fields(); err == nil {
		for it.Next() {
			if n := it.Selector().Unquoted(); !topLevel[n] {
				c.add(valuePos(it.Value(), ev.internal), "%s: field not allowed (the top level holds registry, policy, images and sizes)", n)
			}
		}
	}
	return ev, nil
}

// packageName returns the package name of the first CUE file in dir, or "".
func packageName(dir string) string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return ""
	}
	for _, e := range entries {
		if e.IsDir() || filepath.Ext(e.Name()) != ".cue" || e.Name() == schemaFile {
			continue
		}
		f, err := parser.ParseFile(filepath.Join(dir, e.Name()), nil, parser.PackageClauseOnly)
		if err == nil && f.PackageName() != "" {
			return f.PackageName()
		}
	}
	return ""
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
// position shown is the first one in a user file; positions in imgctl's own
// files are used only when there is nothing else. An empty disjunction's
// errors are made readable first (see simplifyDisjunction).
//
// An error only imgctl's schema has a position for (a required field that
// is missing: "incomplete value") is placed, with locate, at the nearest
// enclosing value the user wrote.
func addCUE(c *collector, err error, internal func(string) bool, locate ...func(path []string) Pos) {
	errs := cueerrors.Errors(err)
	for i := 0; i < len(errs); i++ {
		if n := disjunctionSize(errs, i); n > 0 {
			c.errs = append(c.errs, simplifyDisjunction(errs[i], errs[i+1:i+1+n], internal)...)
			i += n
			continue
		}
		e := cueError(errs[i], internal)
		if len(locate) > 0 && (!e.Pos.IsValid() || internal(e.Pos.Filename)) {
			if p := locate[0](errs[i].Path()); p.IsValid() {
				e.Pos = p
				if path := cuePath(errs[i].Path()); strings.HasPrefix(e.Msg, path+": incomplete value") {
					e.Msg = path + ": required field not set (" + strings.TrimPrefix(e.Msg, path+": ") + ")"
				}
			}
		}
		c.errs = append(c.errs, e)
	}
}

// userPos returns a locate function for addCUE: the position, in a user
// file, of the longest prefix of path that v holds.
func userPos(v cue.Value, internal func(string) bool) func(path []string) Pos {
	return func(path []string) Pos {
		if len(path) > 0 && path[0] == "#Library" {
			path = path[1:]
		}
		for n := len(path); n > 0; n-- {
			sels := make([]cue.Selector, n)
			for i, el := range path[:n] {
				if k, err := strconv.Atoi(el); err == nil {
					sels[i] = cue.Index(k)
				} else {
					sels[i] = cue.Str(el)
				}
			}
			lv := v.LookupPath(cue.MakePath(sels...))
			if !lv.Exists() {
				continue
			}
			if p := valuePos(lv, internal); p.IsValid() && !internal(p.Filename) {
				return p
			}
		}
		return Pos{}
	}
}

func cueError(e cueerrors.Error, internal func(string) bool) *Error {
	format, args := e.Msg()
	return &Error{Pos: pickPos(cueerrors.Positions(e), internal), Msg: prefixPath(e.Path(), fmt.Sprintf(format, args...))}
}

func prefixPath(path []string, msg string) string {
	if p := cuePath(path); p != "" {
		return p + ": " + msg
	}
	return msg
}

func cuePath(p []string) string {
	if len(p) > 0 && p[0] == "#Library" {
		p = p[1:]
	}
	return strings.Join(p, ".")
}

func pickPos(ps []token.Pos, internal func(string) bool) Pos {
	var fallback Pos
	for _, p := range ps {
		if !p.IsValid() {
			continue
		}
		pos := toPos(p)
		if internal(pos.Filename) {
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
