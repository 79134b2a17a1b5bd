package launcher

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"

	"github.com/imgctl/imgctl/pkg/spec"
	"github.com/imgctl/imgctl/pkg/status"
)

// FormatVersion versions the JSON (docs/launchers.md).
const FormatVersion = "1"

// Launchers is what every launcher output is rendered from.
type Launchers struct {
	FormatVersion string `json:"format_version"`
	Registry      string `json:"registry"`
	// Day is the day end-of-life dates were judged on (YYYY-MM-DD).
	Day    string  `json:"day"`
	Sizes  []Size  `json:"sizes"`
	Images []Image `json:"images"`
}

// Size is a size preset.
type Size struct {
	Name        string    `json:"name"`
	CPU         float64   `json:"cpu"`
	Memory      string    `json:"memory"`
	MemoryBytes int64     `json:"memory_bytes"`
	GPU         *spec.GPU `json:"gpu,omitempty"`
	Description string    `json:"description,omitempty"`
}

// Image is one launchable image.
type Image struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Team        string `json:"team,omitempty"`
	Family      string `json:"family,omitempty"`
	// Server is the session server it starts: jupyter, vscode or rstudio
	// (spec: server). Images that start none are not listed.
	Server string `json:"server"`
	// Default marks the image a launcher selects first (one per list).
	Default bool `json:"default"`
	// Sizes are the presets it offers, the default first.
	Sizes []string `json:"sizes"`
	// Versions are offered newest first: latest, then the deprecated
	// ones before their end of life.
	Versions []Version `json:"versions"`
}

// Version is one offered version.
type Version struct {
	Version string `json:"version"`
	Digest  string `json:"digest"`
	// Image is the reference to run: REPOSITORY@sha256:….
	Image      string `json:"image"`
	Latest     bool   `json:"latest"`
	Deprecated bool   `json:"deprecated"`
	EndOfLife  string `json:"end_of_life,omitempty"`
	// Label is how a launcher names the choice: "2026.12.07 (latest)",
	// "2026.11.01 (deprecated, end of life 2026-12-31)".
	Label string `json:"label"`
}

// Of computes the launchers of lib from rep (read on day, YYYY-MM-DD).
func Of(lib *spec.Library, rep *status.Report, day string) *Launchers {
	l := &Launchers{FormatVersion: FormatVersion, Registry: rep.Registry, Day: day, Sizes: []Size{}, Images: []Image{}}
	for _, s := range lib.SortedSizes() {
		l.Sizes = append(l.Sizes, Size{Name: s.Name, CPU: s.CPU, Memory: s.Memory, MemoryBytes: s.MemoryBytes, GPU: s.GPU, Description: s.Description})
	}
	for _, si := range rep.Images {
		im := lib.Image(si.Name)
		if im == nil || im.Deprecated != nil {
			continue // retired: not offered
		}
		server := lib.ServerOf(im)
		if server == spec.ServerNone {
			continue // starts no session server: a base, a batch image
		}
		out := Image{Name: si.Name, Description: im.Description, Team: im.Team, Family: im.Family, Server: server, Sizes: []string{}, Versions: []Version{}}
		for _, s := range lib.SizesOf(im) {
			out.Sizes = append(out.Sizes, s.Name)
		}
		for _, v := range si.Versions { // newest first
			if v.Latest {
				out.Versions = append([]Version{version(si, v, fmt.Sprintf("%s (latest)", v.Version))}, out.Versions...)
			}
		}
		for _, v := range si.Versions {
			if v.Latest || !v.Deprecated || v.EndOfLife == "" || v.EndOfLife < day {
				continue
			}
			out.Versions = append(out.Versions, version(si, v, fmt.Sprintf("%s (deprecated, end of life %s)", v.Version, v.EndOfLife)))
		}
		if len(out.Versions) == 0 || !out.Versions[0].Latest {
			continue // nothing current to launch
		}
		l.Images = append(l.Images, out)
	}
	// Team environments first, then the families' and the bases; by name.
	sort.SliceStable(l.Images, func(i, j int) bool {
		a, b := l.Images[i], l.Images[j]
		if (a.Team != "") != (b.Team != "") {
			return a.Team != ""
		}
		return a.Name < b.Name
	})
	// The default: the first Jupyter image (what JupyterHub and Kubeflow's
	// main list offer), else the first.
	def := 0
	for i, im := range l.Images {
		if im.Server == spec.ServerJupyter {
			def = i
			break
		}
	}
	if len(l.Images) > 0 {
		l.Images[def].Default = true
	}
	return l
}

func version(si status.Image, v status.Version, label string) Version {
	return Version{Version: v.Version, Digest: v.Digest, Image: si.Repository + "@" + v.Digest, Latest: v.Latest,
		Deprecated: v.Deprecated, EndOfLife: v.EndOfLife, Label: label}
}

// Size returns the preset called name.
func (l *Launchers) Size(name string) *Size {
	for i := range l.Sizes {
		if l.Sizes[i].Name == name {
			return &l.Sizes[i]
		}
	}
	return nil
}

// WriteJSON writes l as indented JSON.
func (l *Launchers) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(l)
}
