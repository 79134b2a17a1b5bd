package lock

import (
	"encoding/json"
	"sort"
)

// inputsFormat versions the inputs digest: bump it when resolution starts
// depending on something new, so every lock reads as stale once.
const inputsFormat = "imgctl-lock-inputs/v1"

// Inputs is everything an image's resolution depends on: its package
// lists and sources, its platforms, what it is built from, and its
// parent's lock. The spec loader fills it; Digest is what a lock records
// and what `imgctl lock --check` compares.
type Inputs struct {
	// From is the external base reference (a root), "scratch", or "".
	From string `json:"from,omitempty"`
	// Rootfs maps a platform ("" for the single form) to the archive's
	// digest: a root's packages are resolved on it.
	Rootfs map[string]string `json:"rootfs,omitempty"`
	// Parent names the in-library parent and the lock it was resolved
	// within; nil for a root.
	Parent        *Parent  `json:"parent,omitempty"`
	Platforms     []string `json:"platforms"`
	Apt           []string `json:"apt,omitempty"`
	AptRecommends bool     `json:"aptRecommends,omitempty"`
	Pip           []string `json:"pip,omitempty"`
	PipIndex      string   `json:"pipIndex,omitempty"`
	R             []string `json:"r,omitempty"`
	RRepo         string   `json:"rRepo,omitempty"`
}

// Digest is "sha256:<hex>" of the inputs. Package lists are digested as
// sets: their order in the spec does not matter.
func (in Inputs) Digest() string {
	c := in
	c.Platforms = sorted(in.Platforms)
	c.Apt, c.Pip, c.R = sorted(in.Apt), sorted(in.Pip), sorted(in.R)
	b, err := json.Marshal(struct {
		Format string `json:"format"`
		Inputs Inputs `json:"inputs"`
	}{inputsFormat, c})
	if err != nil {
		panic(err)
	}
	return digestBytes(b)
}

func sorted(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	c := append([]string(nil), s...)
	sort.Strings(c)
	return c
}

// Stale says why l is not the lock of an image whose resolution inputs
// are in, or "" when it is current. Its wording completes "the lock of X
// is stale: …".
func Stale(l *Lock, in Inputs) string {
	if l.Inputs == in.Digest() {
		return ""
	}
	var lp, ip Parent
	if l.Parent != nil {
		lp = *l.Parent
	}
	if in.Parent != nil {
		ip = *in.Parent
	}
	switch {
	case lp.Name != ip.Name:
		return "it was resolved on parent " + orNone(lp.Name) + ", the spec now has " + orNone(ip.Name)
	case lp.Version != ip.Version:
		return "it was resolved on " + lp.Name + "@" + orNone(lp.Version) + ", the spec now pins " + orNone(ip.Version)
	case lp.Lock != ip.Lock:
		return "parent " + ip.Name + "'s lock changed since it was resolved"
	}
	for _, pf := range in.Platforms {
		if _, ok := l.Platforms[pf]; !ok {
			return "it has no packages for " + pf
		}
	}
	for pf := range l.Platforms {
		if !contains(in.Platforms, pf) {
			return "it locks " + pf + ", which the image no longer builds"
		}
	}
	return "the spec's packages or their sources changed since it was resolved"
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
