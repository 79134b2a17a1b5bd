package plan

import (
	"fmt"
	"slices"
	"strings"

	"github.com/imgctl/imgctl/pkg/spec"
)

// SizeBudget is the size budget a build's new version is judged by before
// any tag moves (maxSize, maxGrowth, policy.maxGrowth; docs/size-budgets.md),
// compressed and per platform, against Previous for the growth.
type SizeBudget struct {
	// MaxSize is maxSize as written ("2GiB"), "" when unset;
	// MaxSizeBytes its value and MaxSizePos where it is set.
	MaxSize      string    `json:"max_size,omitempty"`
	MaxSizeBytes int64     `json:"max_size_bytes,omitempty"`
	MaxSizePos   *spec.Pos `json:"max_size_pos,omitempty"`
	// MaxGrowth is the image's maxGrowth or policy.maxGrowth as written
	// ("10%"), "" when neither is set; MaxGrowthPercent its value and
	// MaxGrowthPos where it is set.
	MaxGrowth        string    `json:"max_growth,omitempty"`
	MaxGrowthPercent *float64  `json:"max_growth_percent,omitempty"`
	MaxGrowthPos     *spec.Pos `json:"max_growth_pos,omitempty"`
	// AllowGrowth says publish --allow-growth names the image: a new
	// version over budget is published anyway, once, and the report says
	// the budget was overridden.
	AllowGrowth bool `json:"allow_growth,omitempty"`
}

// budgetOf is the plan's record of im's budget; nil when it has none.
func budgetOf(lib *spec.Library, im *spec.Image, allow bool) *SizeBudget {
	b := lib.BudgetOf(im)
	if b.IsZero() {
		return nil
	}
	out := &SizeBudget{AllowGrowth: allow}
	if b.MaxSize != "" {
		pos := b.MaxSizePos
		out.MaxSize, out.MaxSizeBytes, out.MaxSizePos = b.MaxSize, b.MaxSizeBytes, &pos
	}
	if b.MaxGrowth != "" {
		pos, pc := b.MaxGrowthPos, b.MaxGrowthPercent
		out.MaxGrowth, out.MaxGrowthPercent, out.MaxGrowthPos = b.MaxGrowth, &pc, &pos
	}
	return out
}

// checkAllowGrowth refuses an --allow-growth name that is no image of the
// library; it returns the names sorted, without duplicates.
func checkAllowGrowth(lib *spec.Library, names []string) ([]string, error) {
	out := slices.Clone(names)
	slices.Sort(out)
	out = slices.Compact(out)
	for _, n := range out {
		if lib.Image(n) == nil {
			return nil, fmt.Errorf("--allow-growth %s: no such image in the library", n)
		}
	}
	return out, nil
}

// relative is b with its positions relative to dir.
func (b *SizeBudget) relative(dir string) *SizeBudget {
	cp := *b
	if b.MaxSizePos != nil {
		pos := b.MaxSizePos.RelativeTo(dir)
		cp.MaxSizePos = &pos
	}
	if b.MaxGrowthPos != nil {
		pos := b.MaxGrowthPos.RelativeTo(dir)
		cp.MaxGrowthPos = &pos
	}
	return &cp
}

// Text is the plan's line for b: "size budget: maxSize 2GiB (py.cue:7:27),
// maxGrowth 10% over 2026.11.24 (lib.cue:4:20); compressed, per platform",
// with the override when publish --allow-growth names the image.
func (b *SizeBudget) Text(previous *Version) string {
	at := func(p *spec.Pos) string {
		if p == nil || !p.IsValid() {
			return ""
		}
		return " (" + p.String() + ")"
	}
	var parts []string
	if b.MaxSize != "" {
		parts = append(parts, "maxSize "+b.MaxSize+at(b.MaxSizePos))
	}
	if b.MaxGrowth != "" {
		switch {
		case previous != nil:
			parts = append(parts, "maxGrowth "+b.MaxGrowth+" over "+previous.Tag+at(b.MaxGrowthPos))
		default:
			parts = append(parts, "maxGrowth "+b.MaxGrowth+at(b.MaxGrowthPos)+", nothing to grow from (a first version)")
		}
	}
	s := "size budget: " + strings.Join(parts, ", ") + "; compressed, per platform"
	if b.AllowGrowth {
		s += "; --allow-growth: published even if over budget, this once"
	}
	return s
}

// warnAllowGrowth warns of each --allow-growth image the plan does not
// build, or that has no size budget: there is nothing to let through.
func (c *computer) warnAllowGrowth(allow []string) {
	for _, n := range allow {
		im := c.lib.Image(n)
		switch st := c.steps[n]; {
		case st == nil || st.Action != Build:
			c.warn(im, im.Pos, "--allow-growth %s: %s is not built by this plan: nothing to let through", n, n)
		case st.SizeBudget == nil:
			c.warn(im, im.Pos, "--allow-growth %s: %s has no size budget (maxSize, maxGrowth, policy.maxGrowth): nothing to let through", n, n)
		}
	}
}
