package plan

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/imgctl/imgctl/pkg/lock"
	"github.com/imgctl/imgctl/pkg/published"
	"github.com/imgctl/imgctl/pkg/spec"
)

// Options are the inputs of Compute besides specs and snapshot.
type Options struct {
	// Date is the publish date, YYYY-MM-DD (UTC). Required: Compute reads no clock.
	Date string
	// Targets restricts the plan to these images and their ancestors.
	Targets []string
	// Refresh refreshes every unchanged image that installs packages now,
	// whatever policy.refreshDays says (plan/publish --refresh).
	Refresh bool
	// AllowGrowth names images whose new version publish lets through
	// once although it is over its size budget (publish --allow-growth).
	AllowGrowth []string
}

// Compute decides, for every image in scope, whether to build, skip, retire
// or block it, and derives the tag and deprecation steps. It is pure.
func Compute(lib *spec.Library, snap *Snapshot, opts Options) (*Plan, error) {
	day, err := time.Parse("2006-01-02", opts.Date)
	if err != nil {
		return nil, fmt.Errorf("date %q: want YYYY-MM-DD", opts.Date)
	}
	names, err := scope(lib, opts.Targets)
	if err != nil {
		return nil, err
	}
	allow, err := checkAllowGrowth(lib, opts.AllowGrowth)
	if err != nil {
		return nil, err
	}
	c := &computer{lib: lib, snap: snap, day: day, date: opts.Date, refresh: opts.Refresh, steps: map[string]*ImageStep{}, lockChanges: map[string][]lock.Change{}}
	p := &Plan{
		FormatVersion: FormatVersion,
		Date:          opts.Date,
		Registry:      snap.Registry,
		SpecDir:       lib.Dir,
		Targets:       opts.Targets,
		Images:        make([]ImageStep, 0, len(names)),
		Tags:          []TagStep{},
		Deprecations:  []DeprecationStep{},
		Warnings:      []Warning{},
		AllowGrowth:   allow,
	}
	c.plan = p
	if vp := lib.Policy.Vulnerabilities; vp.Fail != "" {
		g := &VulnerabilityGate{Fail: vp.Fail, Fixable: vp.Fixable, Pos: vp.FailPos}
		for _, ig := range vp.Ignore {
			if opts.Date <= ig.Until {
				g.Ignored++
			}
		}
		p.VulnerabilityGate = g
	}
	for _, w := range lib.Policy.Vulnerabilities.IgnoreWarnings(day) {
		p.Warnings = append(p.Warnings, Warning{Image: "policy", Message: w.Msg, Pos: w.Pos})
	}
	var tooEarly []string
	for _, n := range names {
		st, ok := snap.Images[n]
		if !ok {
			return nil, fmt.Errorf("snapshot has no state for image %s", n)
		}
		step := c.decide(lib.Image(n), st)
		if step.Action == Build && st.Newest != nil && dateOf(st.Newest.Version) > opts.Date {
			tooEarly = append(tooEarly, fmt.Sprintf("%s (newest %s)", n, st.Newest.Version))
		}
		p.Images = append(p.Images, *step)
		c.steps[n] = &p.Images[len(p.Images)-1]
	}
	if len(tooEarly) > 0 {
		return nil, fmt.Errorf("date %s is before the newest published version of %s: a new version must sort last", opts.Date, strings.Join(tooEarly, ", "))
	}
	for i := range p.Images {
		c.derive(&p.Images[i])
		if st := &p.Images[i]; st.Action == Build {
			st.Tests = lib.Image(st.Name).Test
			st.SizeBudget = budgetOf(lib, lib.Image(st.Name), slices.Contains(allow, st.Name))
		}
	}
	c.warnAllowGrowth(allow)
	p.Summary = summarize(p)
	return p, nil
}

type computer struct {
	refresh bool
	lib     *spec.Library
	snap    *Snapshot
	day     time.Time
	date    string
	steps   map[string]*ImageStep
	plan    *Plan
	// lockChanges are the package changes diff found, per image.
	lockChanges map[string][]lock.Change
}

func (c *computer) warn(im *spec.Image, pos spec.Pos, format string, args ...any) {
	c.plan.Warnings = append(c.plan.Warnings, Warning{Image: im.Name, Message: fmt.Sprintf(format, args...), Pos: pos})
}

// decide makes the one decision for im. Parents are decided first (graph order).
func (c *computer) decide(im *spec.Image, st *ImageState) *ImageStep {
	step := &ImageStep{Name: im.Name, Repository: st.Repository, Pos: im.Pos, Reasons: []Reason{}}
	if st.Newest != nil {
		step.Previous = &Version{Tag: st.Newest.Version, Digest: st.Newest.Digest}
	}
	reason := func(pos spec.Pos, format string, args ...any) {
		step.Reasons = append(step.Reasons, Reason{Message: fmt.Sprintf(format, args...), Pos: pos})
	}
	blocked := c.base(im, step, reason)
	key := ComputeKey(im, step.Base.Digest)
	step.SpecKey = key.Spec

	switch {
	case im.Deprecated != nil:
		step.Action = Retire
		msg := "retired: " + im.Deprecated.Reason
		if r := im.Deprecated.Replacement; r != "" {
			msg += " (replacement: " + r + ")"
		}
		reason(im.PosOf("deprecated"), "%s", msg)
		if st.Newest == nil {
			reason(im.PosOf("deprecated"), "never published: nothing to mark")
		} else {
			step.Version, step.Digest = st.Newest.Version, st.Newest.Digest
		}
	case blocked:
		step.Action = Blocked
	case step.Base.RebuiltInPlan:
		step.Action = Build
		var diffs []Reason
		changed := -1
		if st.Newest != nil {
			changed = c.diff(im, key, st.Newest, func(pos spec.Pos, format string, args ...any) {
				diffs = append(diffs, Reason{Message: fmt.Sprintf(format, args...), Pos: pos})
			}, false)
		}
		if ps := c.steps[im.Parent]; (ps.Refresh || ps.Conditional) && changed == 0 {
			// Only the base can change: whether it does is known once the
			// parent's refresh is built and compared.
			reason(im.PosOf("parent"), "parent %s is refreshed in this plan: rebuilt only if that publishes a new version", im.Parent)
			if msg, pos := c.refreshDue(im, st); msg != "" {
				step.Refresh = true
				reason(pos, "%s", msg)
			} else {
				step.Conditional = true
			}
		} else {
			reason(im.PosOf("parent"), "parent %s rebuilt in this plan", im.Parent)
			step.Reasons = append(step.Reasons, diffs...)
			step.LockChanges = c.lockChanges[im.Name]
		}
	case st.Newest == nil:
		step.Action = Build
		step.ContentKey = key.Content
		reason(im.Pos, "never published")
	case key.Matches(st.Newest.Annotations[published.AnnotationContentKey]):
		step.ContentKey = key.Content
		if msg, pos := c.refreshDue(im, st); msg != "" {
			step.Action, step.Refresh = Build, true
			reason(pos, "%s", msg)
			break
		}
		step.Action = Skip
		step.Version, step.Digest = st.Newest.Version, st.Newest.Digest
		reason(im.Pos, "unchanged: matches %s", st.Newest.Version)
	default:
		step.Action = Build
		step.ContentKey = key.Content
		c.diff(im, key, st.Newest, reason, true)
		step.LockChanges = c.lockChanges[im.Name]
	}
	if step.Action == Build {
		step.Version = published.Next(st.Tags, c.day).String()
	}
	if st.Newest != nil && im.Locked() {
		step.Unlocked = st.Unlocked
	}
	if len(st.Foreign) > 0 {
		step.Foreign = append([]ForeignTag{}, st.Foreign...)
		for _, f := range st.Foreign {
			if published.IsVersion(f.Tag) {
				reason(im.Pos, "%s is not an imgctl version: it points at %s; left as it is", f.Tag, foreignNote(st, f.Tag))
			}
		}
	}
	return step
}

// base fills step.Base; it reports whether the image is blocked.
func (c *computer) base(im *spec.Image, step *ImageStep, reason func(spec.Pos, string, ...any)) bool {
	if im.IsExternal() {
		step.Base = Base{Ref: im.From, Digest: c.snap.Bases[im.From]}
		if m := c.snap.BaseMirrors[im.From]; m != "" {
			step.Base.Mirror = m
			c.warn(im, im.PosOf("from"), "%s", published.MirrorGoneWarning(upstreamName(im.From), m))
		}
		if has, ok := c.snap.BasePlatforms[im.From]; ok {
			var lacks []string
			for _, p := range im.Platforms {
				if !slices.Contains(has, p) {
					lacks = append(lacks, p)
				}
			}
			if len(lacks) > 0 {
				reason(im.PosOf("from"), "external base %s lacks %s (it provides %s)", im.From, strings.Join(lacks, ", "), strings.Join(has, ", "))
				return true
			}
		}
		return false
	}
	pos := im.PosOf("parent")
	parent := c.lib.Image(im.Parent)
	pst := c.snap.Images[im.Parent]
	step.Base = Base{Image: im.Parent, Ref: pst.Repository}
	ps := c.steps[im.Parent]
	if ps.Action == Retire {
		msg := fmt.Sprintf("parent %s is retired: %s", im.Parent, parent.Deprecated.Reason)
		if r := parent.Deprecated.Replacement; r != "" {
			msg += fmt.Sprintf("; move to %s", r)
		}
		c.warn(im, pos, "%s", msg)
	}
	if v := im.ParentVersion; v != "" {
		step.Base.Version = v
		pinned := pst.Pinned[v]
		if pinned == nil {
			if pst.IsForeign(v) {
				reason(pos, "pinned parent %s@%s is not an imgctl version (%s)", im.Parent, v, foreignNote(pst, v))
				c.warn(im, pos, "pinned to %s@%s, which imgctl did not publish", im.Parent, v)
				return true
			}
			reason(pos, "pinned parent %s@%s is not published", im.Parent, v)
			c.warn(im, pos, "pinned to %s@%s, which does not exist", im.Parent, v)
			return true
		}
		step.Base.Digest = pinned.Digest
		switch {
		case pst.Newest != nil && pst.Newest.Version != v:
			c.warn(im, pos, "pinned to %s@%s, which is superseded by %s (deprecated)", im.Parent, v, pst.Newest.Version)
		case ps.Action == Build:
			c.warn(im, pos, "pinned to %s@%s, which this plan supersedes with %s (about to be deprecated)", im.Parent, v, ps.Version)
		case ps.Action == Retire:
			c.warn(im, pos, "pinned to %s@%s, which this plan deprecates (image retired)", im.Parent, v)
		}
		return false
	}
	switch ps.Action {
	case Build:
		step.Base.RebuiltInPlan = true
	case Blocked:
		reason(pos, "parent %s is blocked", im.Parent)
		return true
	default:
		if ps.Digest == "" {
			reason(pos, "parent %s is retired and was never published", im.Parent)
			return true
		}
		step.Base.Version, step.Base.Digest = ps.Version, ps.Digest
	}
	return false
}

// upstreamName is ref in full (docker.io/library/debian:bookworm for
// debian:bookworm), or ref itself when it does not parse.
func upstreamName(ref string) string {
	if u, err := published.ParseUpstream(ref); err == nil {
		return u.String()
	}
	return ref
}

// diff explains a build by the parts that changed since the newest version
// and returns how many did (-1: the version has no content record).
// withBase includes the base part (not known when the parent is rebuilt).
func (c *computer) diff(im *spec.Image, key Key, newest *Published, reason func(spec.Pos, string, ...any), withBase bool) int {
	old := decodeParts(newest.Annotations[published.AnnotationFields])
	if old == nil {
		if withBase {
			reason(im.Pos, "published version %s carries no imgctl content record", newest.Version)
		}
		return -1
	}
	parts := key.Parts
	if key.LegacyParts != nil && old["field:pip"] == key.LegacyParts["field:pip"] {
		parts = key.LegacyParts // recorded before pip.credentialsEnv left the key
	}
	n := 0
	for _, part := range changedParts(old, parts) {
		kind, what, _ := strings.Cut(part, ":")
		switch kind {
		case "field":
			reason(im.PosOf(what), "field %s changed", what)
		case "file":
			reason(filePos(im, what), "file %s changed", fileSrc(im, what))
		case "rootfs":
			switch src, _, ok := im.RootfsFor(what); {
			case what == "":
				reason(im.PosOf("rootfs"), "rootfs %s changed", im.Rootfs)
			case ok:
				reason(im.PosOf("rootfs"), "rootfs %s for %s changed", src, what)
			default:
				reason(im.PosOf("rootfs"), "rootfs for %s removed", what)
			}
		case "lock":
			changes := lockChanges(newest, im)
			c.lockChanges[im.Name] = changes
			reason(lockPos(im), "lock: %s", lock.Summary(changes, 5))
		case "base":
			if !withBase {
				continue
			}
			oldDigest := shortDigest(newest.Annotations[published.AnnotationBaseDigest])
			if im.IsExternal() {
				reason(im.PosOf("from"), "external base %s moved from %s to %s", im.From, oldDigest, shortDigest(c.baseDigest(im)))
			} else {
				reason(im.PosOf("parent"), "parent %s changed from %s to %s", im.Parent, oldDigest, shortDigest(c.baseDigest(im)))
			}
		}
		n++
	}
	if n == 0 && withBase {
		reason(im.Pos, "content key changed (imgctl %s)", KeyFormat)
	}
	return n
}

// lockChanges are the package changes from the lock newest was built
// from (none when it was built without one) to im's lock.
func lockChanges(newest *Published, im *spec.Image) []lock.Change {
	var old *lock.Lock
	if raw := newest.Annotations[published.AnnotationLock]; raw != "" {
		old, _ = lock.Parse("", []byte(raw)) // unreadable: everything reads as added
	}
	changes := lock.Changes(old, im.Lock)
	if changes == nil {
		changes = []lock.Change{}
	}
	return changes
}

// lockPos is where a lock change is reported: the lock file.
func lockPos(im *spec.Image) spec.Pos {
	if im.LockFile == "" {
		return im.Pos
	}
	return spec.Pos{Filename: im.LockFile, Line: 1, Column: 1}
}

// refreshDue says why an image whose spec did not change is refreshed
// (its package-install steps run again), or "" when it is not: it must
// install packages (apt, pip, r), and --refresh asks, or its newest
// version is policy.refreshDays old or older.
func (c *computer) refreshDue(im *spec.Image, st *ImageState) (string, spec.Pos) {
	// A locked image installs its lock whatever the day: refreshing it is
	// imgctl lock --upgrade, reviewed like any change.
	if st.Newest == nil || !im.InstallsPackages() || im.Locked() {
		return "", spec.Pos{}
	}
	v := st.Newest.Version
	newest, err := time.Parse("2006-01-02", dateOf(v))
	if err != nil {
		return "", spec.Pos{}
	}
	age := int(c.day.Sub(newest).Hours() / 24)
	days := fmt.Sprintf("%d days", age)
	if age == 1 {
		days = "1 day"
	}
	switch pol := c.lib.Policy; {
	case c.refresh:
		return fmt.Sprintf("refresh (--refresh): newest version %s is %s old", v, days), im.Pos
	case pol.RefreshDays > 0 && age >= pol.RefreshDays:
		return fmt.Sprintf("refresh: newest version %s is %s old", v, days), pol.RefreshDaysPos
	}
	return "", spec.Pos{}
}

// baseDigest is the digest im is built on when its base is already published.
func (c *computer) baseDigest(im *spec.Image) string {
	if im.IsExternal() {
		return c.snap.Bases[im.From]
	}
	return c.steps[im.Parent].Digest
}

func filePos(im *spec.Image, dest string) spec.Pos {
	for _, f := range im.Files {
		if f.Dest == dest && f.Pos.IsValid() {
			return f.Pos
		}
	}
	return im.PosOf("files")
}

func fileSrc(im *spec.Image, dest string) string {
	for _, f := range im.Files {
		if f.Dest == dest {
			return f.Src
		}
	}
	return dest + " (removed)"
}

// derive adds the tag and deprecation steps of one decided image.
func (c *computer) derive(step *ImageStep) {
	im := c.lib.Image(step.Name)
	st := c.snap.Images[step.Name]
	prev := st.Newest
	tag := func(t string, kind TagKind, observed, why string) {
		c.plan.Tags = append(c.plan.Tags, TagStep{
			Image: step.Name, Repository: step.Repository, Tag: t, Kind: kind,
			Version: step.Version, Digest: step.Digest, Observed: observed, Reason: why,
		})
	}
	current := func(t string) string { return st.TagDigests[t] } // "" when absent
	moving := MovingTags(im)
	switch step.Action {
	case Build:
		tag(step.Version, TagDated, "", "new version")
		for _, t := range moving {
			kind := TagMoving
			if t == "latest" {
				kind = TagLatest
			}
			cur, why := current(t), "new tag"
			switch {
			case cur == "":
			case st.IsForeign(t):
				why = fmt.Sprintf("%s points at %s; publish moves it to %s", t, foreignNote(st, t), step.Version)
			case prev != nil && cur == prev.Digest:
				why = "moves from " + prev.Version
			default:
				why = "moves from " + shortDigest(cur)
			}
			tag(t, kind, cur, why)
		}
		if prev != nil {
			c.deprecate(step, Superseded, prev.Version, prev.Digest, step.Version, c.date, "superseded by "+step.Version)
		}
	case Skip:
		// Repair or extend: moving tags missing from the registry or left
		// on an older version by an interrupted publish.
		for _, t := range moving {
			kind := TagMoving
			if t == "latest" {
				kind = TagLatest
			}
			cur := current(t)
			switch {
			case cur == step.Digest:
				continue
			case !has(st.Tags, t) && t == "latest":
				tag(t, kind, "", "latest is missing (interrupted publish?)")
			case !has(st.Tags, t):
				tag(t, kind, "", "tag added in the spec")
			case st.IsForeign(t):
				tag(t, kind, cur, fmt.Sprintf("%s points at %s; publish moves it to %s", t, foreignNote(st, t), step.Version))
			default:
				on := shortDigest(cur)
				if v := st.TagVersions[t]; v != "" {
					on = v
				}
				tag(t, kind, cur, fmt.Sprintf("%s points at %s, newest is %s: interrupted publish?", t, on, step.Version))
			}
		}
	case Retire:
		if step.Digest != "" && !st.NewestMarked {
			c.deprecate(step, Retired, step.Version, step.Digest, "", c.date, "retired: "+im.Deprecated.Reason)
		}
	}
	// Versions superseded earlier whose marking was interrupted.
	versions := published.VersionTags(st.Tags)
	for _, u := range st.Unmarked {
		next := nextOf(versions, u.Tag)
		c.deprecate(step, Superseded, u.Tag, u.Digest, next, dateOf(next), "superseded by "+next+" (marking was interrupted)")
	}
}

// foreignNote says what tag of st points at ("an image imgctl did not
// publish (sha256:…)", "a missing manifest").
func foreignNote(st *ImageState, tag string) string {
	for _, f := range st.Foreign {
		if f.Tag != tag {
			continue
		}
		if f.Note == ForeignMissing {
			return "a manifest that is missing"
		}
		return f.Note + " (" + shortDigest(f.Digest) + ")"
	}
	return ""
}

func (c *computer) deprecate(step *ImageStep, kind DeprecationKind, version, digest, by, date, why string) {
	im := c.lib.Image(step.Name)
	d := DeprecationStep{
		Image: step.Name, Repository: step.Repository, Kind: kind,
		Version: version, Digest: digest, SupersededBy: by,
		Date: date, EndOfLife: addDays(date, c.lib.Policy.GraceDays), Reason: why,
	}
	if kind == Retired {
		d.Replacement = im.Deprecated.Replacement
	}
	if c.lib.Policy.DeprecatedTag {
		d.Tag = version + published.DeprecatedSuffix
	}
	c.plan.Deprecations = append(c.plan.Deprecations, d)
}

func nextOf(versions []string, v string) string {
	for i, x := range versions {
		if x == v && i+1 < len(versions) {
			return versions[i+1]
		}
	}
	return ""
}

// dateOf is the YYYY-MM-DD day of a dated version ("" when v is not one).
func dateOf(v string) string {
	pv, err := published.ParseVersion(v)
	if err != nil {
		return ""
	}
	return pv.Date()
}

func addDays(date string, days int) string {
	t, err := time.Parse("2006-01-02", date)
	if err != nil {
		return ""
	}
	return t.AddDate(0, 0, days).Format("2006-01-02")
}

func shortDigest(d string) string {
	if d == "" {
		return "(none)"
	}
	return published.ShortDigest(d)
}

func sortedCopy(s []string) []string {
	out := append([]string{}, s...)
	sort.Strings(out)
	return out
}

func summarize(p *Plan) Summary {
	var s Summary
	for _, st := range p.Images {
		switch st.Action {
		case Build:
			s.Build++
			if len(st.Tests) > 0 {
				s.Tested++
			}
			if st.Refresh || st.Conditional {
				s.Refresh++
			}
		case Skip:
			s.Unchanged++
		case Retire:
			s.Retire++
		case Blocked:
			s.Blocked++
		}
	}
	s.Tags = len(p.Tags)
	s.Deprecate = len(p.Deprecations)
	return s
}
