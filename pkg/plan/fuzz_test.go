package plan_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/imgctl/imgctl/pkg/plan"
	"github.com/imgctl/imgctl/pkg/published"
	"github.com/imgctl/imgctl/pkg/spec"
)

// bytesource hands out choices from the fuzzer's bytes (zero when they run
// out).
type bytesource struct{ b []byte }

func (s *bytesource) next(n int) int {
	if len(s.b) == 0 || n <= 0 {
		return 0
	}
	v := int(s.b[0]) % n
	s.b = s.b[1:]
	return v
}

func (s *bytesource) pick(xs []string) string { return xs[s.next(len(xs))] }

// fuzzTags are the tags a repository may hold, imgctl's or not.
var fuzzTags = []string{"latest", "3.11", "v1", "0.1.0", "2026.11.01", "2026.11.01.1", "2026.11.01-deprecated",
	"2026.11.24", "2026.11.24.1", "2026.11.24-deprecated", "2026.12.07", "2099.01.01", "2026.13.01",
	"sha256-" + fmt.Sprintf("%064d", 7) + ".sig", "buildcache"}

var fuzzDigests = []string{"", debianV1, debianV2, handLatest, handDated, goneDated}

// snapshotFrom makes an arbitrary snapshot of lib's images from data:
// foreign tags, missing manifests, odd versions, pinned parents that
// vanished, newest versions with or without imgctl's annotations.
func snapshotFrom(lib *spec.Library, data []byte) *plan.Snapshot {
	s := &bytesource{b: data}
	snap := &plan.Snapshot{Registry: "r.test/ds", Images: map[string]*plan.ImageState{}, Bases: map[string]string{}}
	if s.next(4) > 0 {
		snap.Bases["debian:12"] = s.pick(fuzzDigests)
	}
	if s.next(3) == 0 {
		snap.BasePlatforms = map[string][]string{"debian:12": {s.pick([]string{"linux/amd64", "linux/arm64"})}}
	}
	for _, n := range lib.Names() {
		st := &plan.ImageState{Repository: "r.test/ds/" + n}
		for _, t := range fuzzTags {
			if s.next(3) == 0 {
				st.Tags = append(st.Tags, t)
			}
		}
		slices.Sort(st.Tags)
		versions := published.VersionTags(st.Tags)
		if len(versions) > 0 && s.next(4) > 0 {
			v := versions[s.next(len(versions))]
			ann := map[string]string{}
			switch s.next(3) {
			case 0: // imgctl's, the current key
				im := lib.Image(n)
				base := snap.Bases[im.From]
				ann = plan.Annotations(im, im.From, base)
			case 1: // imgctl's, another key
				ann[published.AnnotationContentKey] = "other"
				ann[published.AnnotationFields] = s.pick([]string{"", "{}", "not json", `{"field:apt":"x"}`})
			}
			st.Newest = &plan.Published{Version: v, Digest: s.pick(fuzzDigests[1:]), Annotations: ann}
			st.NewestMarked = s.next(2) == 0
		}
		for _, t := range st.Tags {
			switch published.Classify(t, []string{"3.11"}) {
			case published.TagMoving:
				if st.TagDigests == nil {
					st.TagDigests = map[string]string{}
				}
				st.TagDigests[t] = s.pick(fuzzDigests)
				if s.next(3) == 0 {
					st.Foreign = append(st.Foreign, plan.ForeignTag{Tag: t, Digest: st.TagDigests[t], Note: plan.ForeignImage})
				} else if s.next(3) == 0 && len(versions) > 0 {
					if st.TagVersions == nil {
						st.TagVersions = map[string]string{}
					}
					st.TagVersions[t] = s.pick(versions)
				}
			case published.TagVersion:
				if st.Newest != nil && t == st.Newest.Version {
					continue
				}
				switch s.next(4) {
				case 0:
					st.Foreign = append(st.Foreign, plan.ForeignTag{Tag: t, Digest: s.pick(fuzzDigests[1:]), Note: plan.ForeignImage})
				case 1:
					st.Foreign = append(st.Foreign, plan.ForeignTag{Tag: t, Note: plan.ForeignMissing})
				case 2:
					st.Unmarked = append(st.Unmarked, plan.Version{Tag: t, Digest: s.pick(fuzzDigests[1:])})
				}
			}
		}
		snap.Images[n] = st
	}
	// Pinned parents: present, vanished or never observed.
	for _, n := range lib.Names() {
		im := lib.Image(n)
		if im.ParentVersion == "" {
			continue
		}
		pst := snap.Images[im.Parent]
		pst.Pinned = map[string]*plan.Published{}
		switch s.next(3) {
		case 0:
			pst.Pinned[im.ParentVersion] = &plan.Published{Version: im.ParentVersion, Digest: s.pick(fuzzDigests[1:])}
		case 1:
			pst.Pinned[im.ParentVersion] = nil
		}
	}
	return snap
}

// FuzzCompute: Compute is pure, so any snapshot is fair. It never panics,
// and the plan keeps its promises: no step writes a dated tag that exists,
// only latest and the spec's moving tags are moved, nothing foreign is
// marked, and every decision and tag step says why.
func FuzzCompute(f *testing.F) {
	dir := f.TempDir()
	for k, v := range library {
		if err := os.WriteFile(filepath.Join(dir, k), []byte(v), 0o644); err != nil {
			f.Fatal(err)
		}
	}
	lib, err := spec.Load(dir)
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte{}, false)
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, true)
	f.Add([]byte("\xff\x00\xff\x00\x01\x02\x03\xff\xfe\xfd\x00\x00\x00\x01\x01\x01"), false)
	f.Fuzz(func(t *testing.T, data []byte, refresh bool) {
		snap := snapshotFrom(lib, data)
		p, err := plan.Compute(lib, snap, plan.Options{Date: "2026-12-07", Refresh: refresh})
		if err != nil {
			return // a refusal (e.g. a newest version dated after today) is an answer
		}
		for _, st := range p.Images {
			if len(st.Reasons) == 0 {
				t.Errorf("%s: %s without a reason", st.Name, st.Action)
			}
		}
		for _, ts := range p.Tags {
			st := snap.Images[ts.Image]
			im := lib.Image(ts.Image)
			if ts.Reason == "" {
				t.Errorf("%s:%s: a tag step without a reason", ts.Image, ts.Tag)
			}
			switch {
			case ts.Kind == plan.TagDated:
				if slices.Contains(st.Tags, ts.Tag) {
					t.Errorf("%s:%s: overwrites an existing dated tag", ts.Image, ts.Tag)
				}
				if !published.IsVersion(ts.Tag) {
					t.Errorf("%s:%s: a dated step whose tag is not a version", ts.Image, ts.Tag)
				}
			case !slices.Contains(plan.MovingTags(im), ts.Tag):
				t.Errorf("%s:%s: moves a tag that is neither latest nor the spec's", ts.Image, ts.Tag)
			}
		}
		for _, d := range p.Deprecations {
			st := snap.Images[d.Image]
			for _, f := range st.Foreign {
				if f.Tag == d.Version {
					t.Errorf("%s@%s: marks a foreign version", d.Image, d.Version)
				}
			}
			if d.Digest == "" {
				t.Errorf("%s@%s: marks no digest", d.Image, d.Version)
			}
		}
	})
}
