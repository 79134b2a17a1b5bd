package spec

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrNoDir is returned when the spec directory does not exist or is not a
// directory: a usage error rather than a problem in the specs.
var ErrNoDir = errors.New("spec directory not found")

// Error is one problem in the specs, at a position.
type Error struct {
	Pos Pos
	Msg string
}

// Error renders the problem as "file:line:col: message".
func (e *Error) Error() string { return e.Pos.String() + ": " + e.Msg }

// Errors is every problem found in one load, in file and line order.
type Errors []*Error

// Error renders one problem per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Relative returns a copy with each filename made relative to dir, when it
// lies below dir.
func (es Errors) Relative(dir string) Errors {
	out := make(Errors, len(es))
	for i, e := range es {
		out[i] = &Error{Pos: e.Pos.RelativeTo(dir), Msg: e.Msg}
	}
	return out
}

func (es Errors) sorted() Errors {
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i].Pos, es[j].Pos
		if a.Filename != b.Filename {
			return a.Filename < b.Filename
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Column != b.Column {
			return a.Column < b.Column
		}
		return es[i].Msg < es[j].Msg
	})
	// Drop exact duplicates: CUE may report one conflict from several paths.
	out := es[:0]
	for i, e := range es {
		if i > 0 && e.Pos == es[i-1].Pos && e.Msg == es[i-1].Msg {
			continue
		}
		out = append(out, e)
	}
	return out
}

type collector struct{ errs Errors }

func (c *collector) add(p Pos, format string, args ...any) {
	c.errs = append(c.errs, &Error{Pos: p, Msg: fmt.Sprintf(format, args...)})
}

func (c *collector) err() error {
	if len(c.errs) == 0 {
		return nil
	}
	return c.errs.sorted()
}
