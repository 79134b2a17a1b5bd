package plan

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/imgctl/imgctl/pkg/lock"
	"github.com/imgctl/imgctl/pkg/spec"
)

// Relative returns a copy of the plan with every spec position relative to
// dir (the working directory, for people reading it).
func (p *Plan) Relative(dir string) *Plan {
	q := *p
	q.Images = make([]ImageStep, len(p.Images))
	for i, st := range p.Images {
		st.Pos = st.Pos.RelativeTo(dir)
		rs := make([]Reason, len(st.Reasons))
		for j, r := range st.Reasons {
			rs[j] = Reason{Message: r.Message, Pos: r.Pos.RelativeTo(dir)}
		}
		st.Reasons = rs
		if b := st.SizeBudget; b != nil {
			st.SizeBudget = b.relative(dir)
		}
		q.Images[i] = st
	}
	if g := p.VulnerabilityGate; g != nil {
		cp := *g
		cp.Pos = cp.Pos.RelativeTo(dir)
		q.VulnerabilityGate = &cp
	}
	q.Warnings = make([]Warning, len(p.Warnings))
	for i, w := range p.Warnings {
		w.Pos = w.Pos.RelativeTo(dir)
		q.Warnings[i] = w
	}
	return &q
}

// WriteJSON writes the plan as indented JSON (docs/plan-format.md).
func (p *Plan) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(p)
}

var actionMark = map[Action]string{Build: "+", Skip: "=", Retire: "-", Blocked: "!"}

// WriteText renders the plan for people: images in graph order with their
// reasons and spec positions, tags, deprecations, warnings and a summary.
func (p *Plan) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "Plan for %s on %s\n", p.Registry, p.Date)
	if len(p.Targets) > 0 {
		fmt.Fprintf(w, "Targets: %s (and their parents)\n", strings.Join(p.Targets, ", "))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Images:")
	width := 0
	for _, st := range p.Images {
		width = max(width, len(st.Name))
	}
	indent := strings.Repeat(" ", 2+2+8+1)
	for _, st := range p.Images {
		line := fmt.Sprintf("  %s %-8s %-*s  %s", actionMark[st.Action], st.Action, width, st.Name, imageVersion(st))
		fmt.Fprintln(w, strings.TrimRight(line, " "))
		for _, r := range st.Reasons {
			if r.Pos.IsValid() {
				fmt.Fprintf(w, "%s%s (%s)\n", indent, r.Message, r.Pos)
			} else {
				fmt.Fprintf(w, "%s%s\n", indent, r.Message)
			}
		}
		if len(st.Unlocked) > 0 {
			fmt.Fprintf(w, "%sunlocked in %s: %s\n", indent, st.Previous.Tag, lock.UnlockedSummary(st.Unlocked, 5))
		}
		if n := len(st.Tests); n > 0 {
			fmt.Fprintf(w, "%stests: %d %s run in the new version before its tags move\n", indent, n, plural(n, "command", "commands"))
		}
		if b := st.SizeBudget; b != nil {
			fmt.Fprintf(w, "%s%s\n", indent, b.Text(st.Previous))
		}
	}
	var tw *tabwriter.Writer
	if len(p.Tags) > 0 {
		fmt.Fprintln(w, "\nTags:")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, t := range p.Tags {
			fmt.Fprintf(tw, "  %s:%s\t-> %s\t%s\n", t.Image, t.Tag, tagTarget(t), t.Reason)
		}
		tw.Flush()
	}
	if len(p.Deprecations) > 0 {
		fmt.Fprintln(w, "\nDeprecations:")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, d := range p.Deprecations {
			extra := ""
			if d.Tag != "" {
				extra = ", tag " + d.Tag
			}
			if d.Replacement != "" {
				extra += ", replacement " + d.Replacement
			}
			fmt.Fprintf(tw, "  %s:%s\t%s\t%s, end of life %s%s\n", d.Image, d.Version, shortDigest(d.Digest), d.Reason, d.EndOfLife, extra)
		}
		tw.Flush()
	}
	if g := p.VulnerabilityGate; g != nil && p.Summary.Build > 0 {
		which := "a finding"
		if g.Fixable {
			which = "a finding with a fix"
		}
		fmt.Fprintf(w, "\nVulnerability gate (%s): each version built fails before its tags move on %s at %s or above (%d accepted %s).\n",
			pos(g.Pos), which, g.Fail, g.Ignored, plural(g.Ignored, "risk", "risks"))
	}
	if len(p.Warnings) > 0 {
		fmt.Fprintln(w, "\nWarnings:")
		for _, wn := range p.Warnings {
			fmt.Fprintf(w, "  %s: %s: %s\n", pos(wn.Pos), wn.Image, wn.Message)
		}
	}
	fmt.Fprintf(w, "\n%s\n", p.Summary.Text())
	return nil
}

// Text is the one-line summary, e.g. "3 to build, 12 unchanged, 2 to deprecate".
func (s Summary) Text() string {
	parts := []string{fmt.Sprintf("%d to build", s.Build), fmt.Sprintf("%d unchanged", s.Unchanged)}
	if s.Retire > 0 {
		parts = append(parts, fmt.Sprintf("%d to retire", s.Retire))
	}
	if s.Blocked > 0 {
		parts = append(parts, fmt.Sprintf("%d blocked", s.Blocked))
	}
	parts = append(parts, fmt.Sprintf("%d tags to write", s.Tags), fmt.Sprintf("%d to deprecate", s.Deprecate))
	if s.Refresh > 0 {
		parts[0] += fmt.Sprintf(" (%d %s: published only if packages changed)", s.Refresh, plural(s.Refresh, "refresh", "refreshes"))
	}
	if s.Tested > 0 {
		parts = append(parts, fmt.Sprintf("%d tested before tagging", s.Tested))
	}
	return "Plan: " + strings.Join(parts, ", ") + "."
}

func imageVersion(st ImageStep) string {
	switch st.Action {
	case Build:
		if st.Previous != nil {
			return st.Previous.Tag + " -> " + st.Version
		}
		return "-> " + st.Version
	case Skip, Retire:
		if st.Version != "" {
			return st.Version + " (" + shortDigest(st.Digest) + ")"
		}
	}
	return ""
}

func tagTarget(t TagStep) string {
	if t.Digest != "" {
		return t.Version + " (" + shortDigest(t.Digest) + ")"
	}
	return t.Version + " (new)"
}

func pos(p spec.Pos) string {
	if !p.IsValid() {
		return ""
	}
	return p.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
