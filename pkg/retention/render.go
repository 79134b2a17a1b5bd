package retention

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/imgctl/imgctl/pkg/published"
)

// WriteJSON writes the plan as indented JSON (docs/prune-format.md).
func (p *Plan) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(p)
}

// WriteText renders the plan for people: the policy, then per image each
// version's decision and reasons, and a summary.
func (p *Plan) WriteText(w io.Writer) error {
	if p.Policy == nil {
		fmt.Fprintf(w, "policy.retention is not set: prune deletes nothing (judged on %s)\n", p.Date)
	} else {
		at := ""
		if p.Policy.Position != "" {
			at = " (" + p.Policy.Position + ")"
		}
		fmt.Fprintf(w, "retention: versions past their end of life by %d days, except the %d newest%s; judged on %s\n",
			p.Policy.AfterEndOfLifeDays, p.Policy.KeepNewest, at, p.Date)
	}
	for _, f := range p.InUse {
		fmt.Fprintf(w, "in use: %s (%s, %d %s)\n", f.File, f.Format, f.References, plural(f.References, "reference", "references"))
	}
	for _, im := range p.Images {
		fmt.Fprintf(w, "\n%s  %s\n", im.Name, im.Repository)
		if len(im.Versions) == 0 && len(im.Unfinished) == 0 {
			fmt.Fprintln(w, "  no published versions")
		}
		width := 0
		for _, v := range im.Versions {
			width = max(width, len(v.Version))
		}
		for _, v := range im.Versions {
			why := make([]string, len(v.Reasons))
			for i, r := range v.Reasons {
				why[i] = r.Detail
				if r.Position != "" {
					why[i] += " (" + r.Position + ")"
				}
			}
			fmt.Fprintf(w, "  %-6s  %-*s  %s  %s\n", v.Action, width, v.Version, published.ShortDigest(v.Digest), strings.Join(why, "; "))
			if d := v.Delete; d != nil {
				fmt.Fprintf(w, "          %s\n", deletionText(d))
			}
		}
		for _, u := range im.Unfinished {
			fmt.Fprintf(w, "  finish  an interrupted prune of %s: its referrers and the tombstone %s\n", published.ShortDigest(u.Digest), u.Tombstone)
		}
	}
	s := p.Summary
	fmt.Fprintf(w, "\nPrune: %d %s to delete (%d %s and their referrers), %d kept",
		s.Delete, plural(s.Delete, "version", "versions"), s.Manifests, plural(s.Manifests, "manifest", "manifests"), s.Keep)
	if s.Unfinished > 0 {
		fmt.Fprintf(w, ", %d interrupted %s to finish", s.Unfinished, plural(s.Unfinished, "prune", "prunes"))
	}
	fmt.Fprintln(w, ".")
	return nil
}

// deletionText: "tags 2026.01.01, 2026.01.01-deprecated; index, 1
// platform manifest (linux/amd64), 1 attestation manifest".
func deletionText(d *Deletion) string {
	var plats []string
	att := 0
	for _, m := range d.Manifests {
		switch m.Kind {
		case PlatformManifest:
			plats = append(plats, m.Platform)
		case AttestationManifest:
			att++
		}
	}
	parts := []string{"index"}
	if len(plats) > 0 {
		parts = append(parts, fmt.Sprintf("%d %s (%s)", len(plats), plural(len(plats), "platform manifest", "platform manifests"), strings.Join(plats, ", ")))
	}
	if att > 0 {
		parts = append(parts, fmt.Sprintf("%d %s", att, plural(att, "attestation manifest", "attestation manifests")))
	}
	s := "deletes " + strings.Join(parts, ", ") + ", every referrer of them"
	if len(d.Tags) > 0 {
		s += "; tags " + strings.Join(d.Tags, ", ")
	}
	if len(d.Shared) > 0 {
		s += fmt.Sprintf("; keeps %d shared with a kept version", len(d.Shared))
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
