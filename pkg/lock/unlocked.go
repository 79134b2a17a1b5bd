package lock

import (
	"fmt"
	"sort"
	"strings"
)

// Unlocked is a package a published version holds that neither its lock
// nor its base accounts for: a run: step installed it outside the lock.
// The plan and status list them; they are not fatal (a build need not
// install everything through apt:, pip: and r:).
type Unlocked struct {
	Platform string `json:"platform"`
	// Ecosystem is apt, pip or r, or the SBOM's package type for anything
	// else ("golang", "npm", "other").
	Ecosystem string `json:"ecosystem"`
	Name      string `json:"name"`
	Version   string `json:"version"`
}

// SortUnlocked orders us by platform, ecosystem (apt, pip, r, then the
// others by name), name and version.
func SortUnlocked(us []Unlocked) {
	rank := func(e string) string {
		switch e {
		case Apt:
			return "0"
		case Pip:
			return "1"
		case R:
			return "2"
		}
		return "3" + e
	}
	sort.Slice(us, func(i, j int) bool {
		a, b := us[i], us[j]
		if a.Platform != b.Platform {
			return a.Platform < b.Platform
		}
		if ra, rb := rank(a.Ecosystem), rank(b.Ecosystem); ra != rb {
			return ra < rb
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Version < b.Version
	})
}

// UnlockedSummary renders us for a reason line: "2 packages a run: step
// installed outside the lock: pip setuptools 66.1.1, pip wheel 0.38.4",
// naming at most max (then "…"); a package on several platforms once,
// with its platforms when they are not all of them.
func UnlockedSummary(us []Unlocked, max int) string {
	if len(us) == 0 {
		return ""
	}
	platforms := map[string]bool{}
	on := map[string][]string{}
	var keys []string
	for _, u := range us {
		platforms[u.Platform] = true
		k := u.Ecosystem + " " + u.Name + " " + u.Version
		if on[k] == nil {
			keys = append(keys, k)
		}
		on[k] = append(on[k], u.Platform)
	}
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k
		if len(on[k]) < len(platforms) {
			names[i] += " (" + strings.Join(on[k], ", ") + ")"
		}
	}
	what := "packages"
	if len(keys) == 1 {
		what = "package"
	}
	return fmt.Sprintf("%d %s a run: step installed outside the lock: %s", len(keys), what, strings.Join(cut(names, max), ", "))
}
