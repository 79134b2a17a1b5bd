package spec

import (
	"fmt"
	"slices"

	cueerrors "cuelang.org/go/cue/errors"
)

// CUE reports a value that matches no alternative of a disjunction (the
// schema's `rootfs: string | {…}`) as a header without a position, "N
// errors in empty disjunction:", followed by one error per alternative, most
// of them saying the value is not of that alternative's type. These are the
// message formats (CUE v0.17) the errors are recognised by; if CUE changes
// them, the errors are shown as CUE gives them.
const (
	disjunctionFormat = "%d errors in empty disjunction:"
	mismatchFormat    = "conflicting values %s and %s (mismatched types %s and %s)"
)

// disjunctionSize returns the number of alternatives' errors following
// errs[i] when it is an empty disjunction's header, else 0.
func disjunctionSize(errs []cueerrors.Error, i int) int {
	format, args := errs[i].Msg()
	if format != disjunctionFormat || len(args) != 1 {
		return 0
	}
	n, ok := args[0].(int)
	if !ok || n < 2 || i+n >= len(errs) {
		return 0
	}
	head := errs[i].Path()
	for _, e := range errs[i+1 : i+1+n] {
		if p := e.Path(); len(p) < len(head) || !slices.Equal(p[:len(head)], head) {
			return 0
		}
	}
	return n
}

// simplifyDisjunction turns an empty disjunction's errors into what the
// user needs to read. The value's own position is the earliest of the
// alternatives' positions; an alternative that failed there on the value's
// type was not the one meant. When another alternative got further (right
// type, wrong content: `rootfs: ""`, or a bad entry in a map), only those
// errors are kept. When every alternative failed on the type, one error
// says what was given and what is wanted: "got int (3), want string or
// struct". Without positions, the errors are kept as CUE gives them.
func simplifyDisjunction(head cueerrors.Error, alts []cueerrors.Error, internal func(string) bool) []*Error {
	all := []*Error{cueError(head, internal)}
	var first Pos
	for _, e := range alts {
		err := cueError(e, internal)
		all = append(all, err)
		if err.Pos.IsValid() && (!first.IsValid() || before(err.Pos, first)) {
			first = err.Pos
		}
	}
	if !first.IsValid() {
		return all
	}
	var kept []*Error
	var got, value string
	var want []string
	for i, e := range alts {
		format, args := e.Msg()
		if format == mismatchFormat && len(args) == 4 && all[i+1].Pos == first {
			got, value = fmt.Sprint(args[2]), fmt.Sprint(args[0])
			if w := fmt.Sprint(args[3]); !slices.Contains(want, w) {
				want = append(want, w)
			}
			continue
		}
		kept = append(kept, all[i+1])
	}
	if len(kept) > 0 {
		return kept
	}
	if len(value) > 40 {
		value = value[:37] + "…"
	}
	return []*Error{{Pos: first, Msg: prefixPath(head.Path(), fmt.Sprintf("got %s (%s), want %s", got, value, orList(want)))}}
}

// before reports whether a comes before b in the same file.
func before(a, b Pos) bool {
	return a.Filename == b.Filename && (a.Line < b.Line || a.Line == b.Line && a.Column < b.Column)
}
