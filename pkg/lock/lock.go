package lock

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// FormatVersion is the lock format this package reads and writes.
const FormatVersion = "1"

// Dir is the directory of the lock files, relative to the spec directory.
const Dir = "locks"

// Path is the lock file of image name below the spec directory specDir.
func Path(specDir, name string) string {
	return filepath.Join(specDir, Dir, name+".lock.json")
}

// Ecosystems, in the order a build installs them.
const (
	Apt = "apt"
	Pip = "pip"
	R   = "r"
)

// Lock is one image's lock file.
type Lock struct {
	FormatVersion string `json:"format_version"`
	Image         string `json:"image"`
	// Inputs is the digest of everything resolution depended on (Inputs).
	Inputs string `json:"inputs"`
	// Parent is the in-library parent the image was resolved on; nil for a
	// root.
	Parent *Parent `json:"parent,omitempty"`
	// Platforms maps a normalised platform to what the image adds on it.
	Platforms map[string]*Packages `json:"platforms"`
}

// Parent names the lock a child was resolved within.
type Parent struct {
	Name string `json:"name"`
	// Version is the pinned published version, when the spec pins one.
	Version string `json:"version,omitempty"`
	// Lock is the digest of the parent's lock file; "" when the parent
	// is not locked (or, pinned, was published without a lock).
	Lock string `json:"lock,omitempty"`
}

// Packages is what an image adds on one platform, each list sorted by name.
type Packages struct {
	Apt []AptPackage `json:"apt"`
	Pip []Dist       `json:"pip"`
	R   []Dist       `json:"r"`
}

// AptPackage is one Debian package at its exact version.
type AptPackage struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Arch    string `json:"arch"`
}

// Dist is a pip distribution or an R package: its exact version, the URL
// its archive was resolved to (never with credentials) and the archive's
// sha256 (hex).
type Dist struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	URL     string `json:"url"`
	SHA256  string `json:"sha256"`
}

// Empty reports whether the platform adds no package.
func (p *Packages) Empty() bool {
	return p == nil || len(p.Apt) == 0 && len(p.Pip) == 0 && len(p.R) == 0
}

// Sort puts every list in name order (then version, arch), as written.
func (p *Packages) Sort() {
	sort.Slice(p.Apt, func(i, j int) bool {
		a, b := p.Apt[i], p.Apt[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Arch < b.Arch
	})
	for _, l := range [][]Dist{p.Pip, p.R} {
		sort.Slice(l, func(i, j int) bool { return l[i].Name < l[j].Name })
	}
}

// Marshal is the lock file's bytes: sorted, indented, no HTML escaping, a
// newline at the end. The same lock always gives the same bytes.
func (l *Lock) Marshal() []byte {
	c := *l // l is shared (plan reads it concurrently): never written
	c.FormatVersion = FormatVersion
	c.Platforms = make(map[string]*Packages, len(l.Platforms))
	for pf, p := range l.Platforms {
		if p == nil {
			p = &Packages{}
		}
		q := Packages{Apt: nonNil(p.Apt), Pip: nonNil(p.Pip), R: nonNil(p.R)}
		q.Sort()
		c.Platforms[pf] = &q
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(&c); err != nil {
		panic(err) // plain data: cannot fail
	}
	return buf.Bytes()
}

// nonNil copies s, never nil: an empty list is written "[]".
func nonNil[T any](s []T) []T {
	out := make([]T, len(s))
	copy(out, s)
	return out
}

// Compact is the lock as one line of JSON, as a published version
// carries it (published.AnnotationLock).
func (l *Lock) Compact() string {
	var buf bytes.Buffer
	if err := json.Compact(&buf, l.Marshal()); err != nil {
		panic(err)
	}
	return buf.String()
}

// Digest is "sha256:<hex>" of the lock file's bytes (Marshal).
func (l *Lock) Digest() string { return digestBytes(l.Marshal()) }

func digestBytes(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// For returns what the lock adds on platform, or nil.
func (l *Lock) For(platform string) *Packages {
	if l == nil {
		return nil
	}
	return l.Platforms[platform]
}

// Write writes l to path atomically (a temporary file renamed over it), so
// an interrupted lock never leaves half a file; the directory is made.
func Write(path string, l *Lock) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".lock-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(l.Marshal()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// ErrNoLock is returned by Read for a lock file that does not exist.
var ErrNoLock = errors.New("no lock file")

// Read reads and checks the lock file at path. A missing file is
// ErrNoLock; a malformed one an error naming the file and, for JSON
// syntax errors, its line and column.
func Read(path string) (*Lock, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", path, ErrNoLock)
	}
	if err != nil {
		return nil, err
	}
	return Parse(path, b)
}

// ParseError is a malformed lock file: the file, the line and column of
// the problem when it has one (1-based; 0 when the problem is the file as
// a whole), and what is wrong.
type ParseError struct {
	File         string
	Line, Column int
	Msg          string
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
	}
	return e.File + ": " + e.Msg
}

// Parse parses and checks the bytes of a lock file; name is the file's
// name for errors, which are *ParseError.
func Parse(name string, b []byte) (*Lock, error) {
	bad := func(format string, args ...any) error {
		return &ParseError{File: name, Msg: fmt.Sprintf(format, args...)}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var l Lock
	if err := dec.Decode(&l); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			line, col := lineCol(b, se.Offset-1)
			return nil, &ParseError{File: name, Line: line, Column: col, Msg: err.Error()}
		case errors.As(err, &te):
			line, col := lineCol(b, te.Offset-1)
			return nil, &ParseError{File: name, Line: line, Column: col, Msg: fmt.Sprintf("%s: want %s, got %s", te.Field, te.Type, te.Value)}
		}
		return nil, bad("%v", err)
	}
	if l.FormatVersion != FormatVersion {
		return nil, bad("format_version %q: this imgctl reads %q", l.FormatVersion, FormatVersion)
	}
	if l.Image == "" {
		return nil, bad("image is not set")
	}
	if !digestRE.MatchString(l.Inputs) {
		return nil, bad("inputs %q is not a sha256 digest", l.Inputs)
	}
	for pf, p := range l.Platforms {
		if p == nil {
			return nil, bad("platforms[%q] is null", pf)
		}
		for _, a := range p.Apt {
			if a.Name == "" || a.Version == "" || a.Arch == "" {
				return nil, bad("platforms[%q].apt: entry %+v needs name, version and arch", pf, a)
			}
		}
		for eco, ds := range map[string][]Dist{Pip: p.Pip, R: p.R} {
			for _, d := range ds {
				if d.Name == "" || d.Version == "" || d.URL == "" || !hexRE.MatchString(d.SHA256) {
					return nil, bad("platforms[%q].%s: entry %q needs name, version, url and a hex sha256", pf, eco, d.Name)
				}
			}
		}
	}
	if l.Platforms == nil {
		l.Platforms = map[string]*Packages{}
	}
	return &l, nil
}

var (
	digestRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
	hexRE    = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

func lineCol(b []byte, off int64) (int, int) {
	if off > int64(len(b)) {
		off = int64(len(b))
	}
	line, col := 1, 1
	for _, c := range b[:off] {
		if c == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}

// NormalizePip is a pip distribution name as PEP 503 normalises it:
// lower case, each run of "-", "_" and "." one "-".
func NormalizePip(name string) string {
	return strings.ToLower(pipRunRE.ReplaceAllString(name, "-"))
}

var pipRunRE = regexp.MustCompile(`[-_.]+`)

// UpstreamVersion is a Debian version without its epoch and Debian
// revision: "1:3.11.2-1+b1" is "3.11.2".
func UpstreamVersion(v string) string {
	if _, rest, ok := strings.Cut(v, ":"); ok {
		v = rest
	}
	if i := strings.LastIndex(v, "-"); i > 0 {
		v = v[:i]
	}
	return v
}
