package publish

import (
	"encoding/json"
	"io"
	"math"

	"github.com/imgctl/imgctl/pkg/lock"
	"github.com/imgctl/imgctl/pkg/mirror"
	"github.com/imgctl/imgctl/pkg/plan"
)

// ReportFormatVersion versions publish --json (docs/publish-format.md).
const ReportFormatVersion = "1"

// Report is what a publish did, per image: the value publish --json
// renders (the table is rendered from Result).
type Report struct {
	FormatVersion string        `json:"format_version"`
	Date          string        `json:"date"`
	Registry      string        `json:"registry"`
	Images        []ImageReport `json:"images"`
	Summary       ReportSummary `json:"summary"`
	// Mirrored are the external bases copied to or found in policy.mirror
	// before the builds (absent without policy.mirror).
	Mirrored []mirror.Copied `json:"mirrored,omitempty"`
	// Error is why the publish failed ("" when it did not); what is in
	// the report was done before it.
	Error string `json:"error,omitempty"`
}

// ImageReport is one image: its build (if any), the tags written, the
// versions marked, or why it is blocked.
type ImageReport struct {
	Name       string `json:"name"`
	Repository string `json:"repository"`
	// Action is the plan's (build, skip, retire, blocked), or "unchanged"
	// for a refresh whose packages came out the same (nothing published).
	Action string `json:"action"`
	// Version and Digest are the version built and pushed.
	Version      string  `json:"version,omitempty"`
	Digest       string  `json:"digest,omitempty"`
	BuildSeconds float64 `json:"build_seconds,omitempty"`
	Daemon       string  `json:"daemon,omitempty"`
	Changes      string  `json:"changes,omitempty"`
	TestsPassed  int     `json:"tests_passed,omitempty"`
	// Unlocked are the packages a run: step installed outside the lock.
	Unlocked []lock.Unlocked `json:"unlocked,omitempty"`
	// BudgetOverridden is why the version was published over its size
	// budget (publish --allow-growth): sizes and largest packages added.
	BudgetOverridden string `json:"budget_overridden,omitempty"`
	// Previous is the version digest an unchanged refresh matched.
	Previous   string        `json:"previous,omitempty"`
	Tags       []TagReport   `json:"tags"`
	Deprecated []MarkReport  `json:"deprecated"`
	Blocked    []plan.Reason `json:"blocked,omitempty"`
}

// TagReport is one tag written.
type TagReport struct {
	Tag  string       `json:"tag"`
	Kind plan.TagKind `json:"kind"`
	// Version and Digest are what it points at now; Moved is what it
	// pointed at before ("" when it was new).
	Version string `json:"version"`
	Digest  string `json:"digest"`
	Moved   string `json:"moved_from,omitempty"`
}

// MarkReport is one version marked deprecated.
type MarkReport struct {
	Version      string               `json:"version"`
	Digest       string               `json:"digest"`
	Kind         plan.DeprecationKind `json:"kind"`
	SupersededBy string               `json:"superseded_by,omitempty"`
	EndOfLife    string               `json:"end_of_life"`
	Tag          string               `json:"tag,omitempty"`
}

// ReportSummary counts what was written.
type ReportSummary struct {
	Built   int `json:"built"`
	Tags    int `json:"tags"`
	Marked  int `json:"marked"`
	Signed  int `json:"signed"`
	Blocked int `json:"blocked"`
}

// Report is r as a value, per image of p in plan order (images with
// nothing built, written or blocked are left out). r may be nil (nothing
// was done); err is the publish's error, if any.
func (r *Result) Report(p *plan.Plan, err error) *Report {
	if r == nil {
		r = &Result{}
	}
	rep := &Report{FormatVersion: ReportFormatVersion, Date: p.Date, Registry: p.Registry, Images: []ImageReport{}, Mirrored: r.Mirrored}
	if err != nil {
		rep.Error = err.Error()
	}
	built := map[string]Built{}
	for _, b := range r.Images {
		built[b.Image] = b
	}
	for _, st := range p.Images {
		ir := ImageReport{Name: st.Name, Repository: st.Repository, Action: string(st.Action), Tags: []TagReport{}, Deprecated: []MarkReport{}}
		keep := false
		if b, ok := built[st.Name]; ok {
			keep = true
			ir.Version, ir.Digest, ir.Daemon, ir.Changes, ir.TestsPassed, ir.Unlocked = b.Version, b.Digest, b.Daemon, b.Changes, b.Tests, b.Unlocked
			ir.BudgetOverridden = b.BudgetOverridden
			ir.BuildSeconds = math.Round(b.Duration.Seconds()*10) / 10
			if b.Unchanged {
				ir.Action, ir.Previous = "unchanged", b.Previous
			} else {
				rep.Summary.Built++
			}
		}
		for _, t := range r.TagsWritten {
			if t.Image == st.Name {
				keep = true
				ir.Tags = append(ir.Tags, TagReport{Tag: t.Tag, Kind: t.Kind, Version: t.Version, Digest: t.Digest, Moved: t.Observed})
			}
		}
		for _, d := range r.MarkersWritten {
			if d.Image == st.Name {
				keep = true
				ir.Deprecated = append(ir.Deprecated, MarkReport{Version: d.Version, Digest: d.Digest, Kind: d.Kind, SupersededBy: d.SupersededBy, EndOfLife: d.EndOfLife, Tag: d.Tag})
			}
		}
		if st.Action == plan.Blocked {
			keep = true
			ir.Blocked = st.Reasons
			rep.Summary.Blocked++
		}
		if keep {
			rep.Images = append(rep.Images, ir)
		}
	}
	rep.Summary.Tags, rep.Summary.Marked, rep.Summary.Signed = len(r.TagsWritten), len(r.MarkersWritten), r.Signed
	return rep
}

// WriteJSON renders the report, indented, with a final newline.
func (rep *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}
