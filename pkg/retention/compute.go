package retention

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/imgctl/imgctl/pkg/published"
	"github.com/imgctl/imgctl/pkg/spec"
	"github.com/imgctl/imgctl/pkg/status"
)

// Observation is what Compute reads of the registry.
type Observation struct {
	// Report is the status of every image (versions, latest, markers,
	// foreign tags, the raw tag list, each index's manifests).
	Report *status.Report
	// Targets are, per repository, the digests that latest, the spec's
	// moving tags and the tags imgctl did not write point at ("" for a
	// listed tag whose manifest is gone).
	Targets map[string]map[string]string
}

// Input is everything a plan is computed from.
type Input struct {
	Library     *spec.Library
	Observation *Observation
	// InUse are the references of the --in-use files, InUseFiles the
	// files (for the report).
	InUse      []Ref
	InUseFiles []InUseFile
	// Day is the day the plan is judged on (UTC).
	Day time.Time
	// Dir, when set, makes spec positions relative to it.
	Dir string
}

// candidate is a version being judged.
type candidate struct {
	im      *status.Image
	v       *status.Version
	keep    []Reason
	deleteR *Reason
	expired bool
}

// Compute decides, for every imgctl version of every image observed,
// whether prune deletes it, and why. It is pure: same input, same plan.
func Compute(in Input) *Plan {
	lib, obs := in.Library, in.Observation
	day := in.Day.UTC().Format("2006-01-02")
	p := &Plan{FormatVersion: FormatVersion, Registry: obs.Report.Registry, Date: day, InUse: in.InUseFiles, Images: []Image{}}
	pol := lib.Policy.Retention
	if pol != nil {
		p.Policy = &Policy{AfterEndOfLifeDays: pol.AfterEndOfLifeDays, KeepNewest: pol.KeepNewest, Position: pos(pol.Pos, in.Dir)}
	}

	pins := map[string][]Reason{} // image@version -> reasons
	for _, im := range lib.Images {
		if im.ParentVersion != "" {
			k := im.Parent + "@" + im.ParentVersion
			pins[k] = append(pins[k], Reason{Kind: Pinned, Detail: fmt.Sprintf("pinned by images.%s.parent", im.Name), Position: pos(im.PosOf("parent"), in.Dir)})
		}
	}

	var all []*candidate
	byImage := make([][]*candidate, len(obs.Report.Images))
	for i := range obs.Report.Images {
		im := &obs.Report.Images[i]
		targets := obs.Targets[im.Repository]
		var moving []string
		if si := lib.Image(im.Name); si != nil {
			moving = si.Tags
		}
		tombstones := map[string]bool{}
		for _, t := range im.Tags {
			if d, suffix, ok := published.ArtifactSubject(t); ok && suffix == published.PruneSuffix {
				tombstones[d] = true
			}
		}
		for j := range im.Versions {
			v := &im.Versions[j]
			c := &candidate{im: im, v: v}
			if pol == nil {
				c.keep = append(c.keep, Reason{Kind: NoPolicy, Detail: "policy.retention is not set: prune deletes nothing"})
			}
			if v.Latest || targets[published.Latest] == v.Digest {
				c.keep = append(c.keep, Reason{Kind: Latest, Detail: "latest points at it"})
			}
			for _, t := range moving {
				if targets[t] == v.Digest {
					c.keep = append(c.keep, Reason{Kind: Moving, Detail: fmt.Sprintf("moving tag %s points at it", t)})
				}
			}
			for _, t := range sortedKeys(targets) {
				if targets[t] == v.Digest && t != published.Latest && !slices.Contains(moving, t) {
					c.keep = append(c.keep, Reason{Kind: ForeignTag, Detail: fmt.Sprintf("tag %s, which imgctl did not write, points at it", t)})
				}
			}
			for _, f := range im.Foreign {
				if f.Digest == v.Digest && published.IsVersion(f.Tag) {
					c.keep = append(c.keep, Reason{Kind: ForeignTag, Detail: fmt.Sprintf("tag %s points at it (%s)", f.Tag, f.Note)})
				}
			}
			if pol != nil && j < pol.KeepNewest {
				c.keep = append(c.keep, Reason{Kind: Newest, Detail: fmt.Sprintf("one of the %d newest", pol.KeepNewest)})
			}
			c.keep = append(c.keep, pins[im.Name+"@"+v.Version]...)
			c.keep = append(c.keep, inUse(in.InUse, im, v)...)
			switch {
			case tombstones[v.Digest]:
				c.deleteR = &Reason{Kind: Interrupted, Detail: "an interrupted prune started deleting it: finishing"}
			case v.EndOfLife == "":
				c.keep = append(c.keep, Reason{Kind: NotDeprecated, Detail: "not deprecated: no end of life"})
			case pol != nil:
				from, err := endOfLife(v.EndOfLife)
				if err != nil {
					c.keep = append(c.keep, Reason{Kind: NotDeprecated, Detail: fmt.Sprintf("end of life %q is not a date", v.EndOfLife)})
					break
				}
				from = from.AddDate(0, 0, pol.AfterEndOfLifeDays)
				if in.Day.UTC().Before(from) {
					c.keep = append(c.keep, Reason{Kind: InGrace, Detail: fmt.Sprintf("end of life %s + %d days: deletable from %s", v.EndOfLife, pol.AfterEndOfLifeDays, from.Format("2006-01-02"))})
				} else {
					c.deleteR = &Reason{Kind: Expired, Detail: fmt.Sprintf("end of life %s + %d days passed on %s", v.EndOfLife, pol.AfterEndOfLifeDays, from.Format("2006-01-02"))}
				}
			}
			byImage[i] = append(byImage[i], c)
			all = append(all, c)
		}
	}

	// What kept versions hold on to, until nothing changes: their bases
	// (in any image) and the versions sharing their digest.
	for changed := true; changed; {
		changed = false
		for _, k := range all {
			if !k.deleted() {
				continue
			}
			for _, other := range all {
				if other.deleted() {
					continue
				}
				if b := other.v.BuiltOn; b != nil && (b.Digest == k.v.Digest || hasChild(k.v, b.Digest)) {
					k.keep = append(k.keep, Reason{Kind: Base, Detail: fmt.Sprintf("%s@%s is built on it", other.im.Name, other.v.Version)})
					changed = true
					break
				}
				if other.im == k.im && other.v.Digest == k.v.Digest {
					k.keep = append(k.keep, Reason{Kind: SharedDigest, Detail: fmt.Sprintf("%s has the same digest and is kept", other.v.Version)})
					changed = true
					break
				}
			}
		}
	}

	for i, cs := range byImage {
		im := &obs.Report.Images[i]
		out := Image{Name: im.Name, Repository: im.Repository, Versions: []Version{}}
		kept := map[string]bool{} // manifests that kept versions name
		versionDigests := map[string]bool{}
		for _, c := range cs {
			versionDigests[c.v.Digest] = true
			if !c.deleted() {
				kept[c.v.Digest] = true
				for _, ch := range c.v.Manifests {
					kept[ch.Digest] = true
				}
			}
		}
		for _, c := range cs {
			v := Version{Version: c.v.Version, Digest: c.v.Digest, EndOfLife: c.v.EndOfLife, Action: Keep, Reasons: c.keep}
			if c.deleted() {
				v.Action, v.Reasons = Delete, []Reason{*c.deleteR}
				v.Delete = deletion(im, c.v, kept)
				p.Summary.Delete++
				p.Summary.Manifests += len(v.Delete.Manifests)
			} else {
				p.Summary.Keep++
			}
			out.Versions = append(out.Versions, v)
		}
		if pol != nil {
			for _, t := range im.Tags {
				if d, suffix, ok := published.ArtifactSubject(t); ok && suffix == published.PruneSuffix && !versionDigests[d] {
					out.Unfinished = append(out.Unfinished, Unfinished{Digest: d, Tombstone: t})
					p.Summary.Unfinished++
				}
			}
		}
		p.Images = append(p.Images, out)
	}
	return p
}

func (c *candidate) deleted() bool { return c.deleteR != nil && len(c.keep) == 0 }

// deletion lists what deleting v removes: its manifests that no kept
// version names (platform and attestation manifests first, the index
// last) and its tags.
func deletion(im *status.Image, v *status.Version, kept map[string]bool) *Deletion {
	d := &Deletion{Tags: []string{}, Manifests: []Manifest{}}
	seen := map[string]bool{}
	for _, ch := range v.Manifests {
		m := Manifest{Digest: ch.Digest, Kind: PlatformManifest, Platform: ch.Platform}
		if ch.Attestation {
			m.Kind = AttestationManifest
		}
		switch {
		case seen[ch.Digest]:
		case kept[ch.Digest]:
			d.Shared = append(d.Shared, m)
		default:
			d.Manifests = append(d.Manifests, m)
		}
		seen[ch.Digest] = true
	}
	d.Manifests = append(d.Manifests, Manifest{Digest: v.Digest, Kind: IndexManifest})
	// The version's own tag last: while it is listed, a re-run sees the
	// version (and the tags still to delete).
	if slices.Contains(im.Tags, v.Version+published.DeprecatedSuffix) {
		d.Tags = append(d.Tags, v.Version+published.DeprecatedSuffix)
	}
	// Other dated tags of the same digest (all deleted, or it is kept).
	for _, o := range im.Versions {
		if o.Digest == v.Digest && o.Version != v.Version {
			d.Tags = append(d.Tags, o.Version)
		}
	}
	if slices.Contains(im.Tags, v.Version) {
		d.Tags = append(d.Tags, v.Version)
	}
	return d
}

// inUse are the reasons the --in-use references give to keep v.
func inUse(refs []Ref, im *status.Image, v *status.Version) []Reason {
	var out []Reason
	seen := map[string]bool{}
	for _, r := range refs {
		hit := r.Digest != "" && (r.Digest == v.Digest || hasChild(v, r.Digest)) ||
			r.Digest == "" && r.Repository == im.Repository && r.Tag == v.Version
		if hit && !seen[r.Source] {
			seen[r.Source] = true
			out = append(out, Reason{Kind: InUse, Detail: "in use (" + r.Source + ")"})
		}
	}
	return out
}

func hasChild(v *status.Version, digest string) bool {
	return slices.ContainsFunc(v.Manifests, func(c published.Child) bool { return c.Digest == digest })
}

// endOfLife parses a marker's end-of-life date: YYYY-MM-DD, or RFC 3339
// as other writers use.
func endOfLife(s string) (time.Time, error) {
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, err
	}
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC), nil
}

func pos(p spec.Pos, dir string) string {
	if !p.IsValid() {
		return ""
	}
	if dir != "" {
		p = p.RelativeTo(dir)
	}
	return p.String()
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Deletions maps repository to version to reason for the versions p
// deletes: what status shows as the next prune's work.
func (p *Plan) Deletions() map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, im := range p.Images {
		for _, v := range im.Versions {
			if v.Action == Delete {
				if out[im.Repository] == nil {
					out[im.Repository] = map[string]string{}
				}
				out[im.Repository][v.Version] = strings.TrimSuffix(v.Reasons[0].Detail, ": finishing")
			}
		}
	}
	return out
}
