package capacity

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/imgctl/imgctl/pkg/spec"
)

// FormatVersion versions the JSON report.
const FormatVersion = "1"

// Report is the capacity view.
type Report struct {
	FormatVersion string   `json:"format_version"`
	Presets       []Preset `json:"presets"`
	Pools         []Pool   `json:"pools"`
}

// Preset is one size preset and how it fits each pool.
type Preset struct {
	Name        string    `json:"name"`
	CPU         float64   `json:"cpu"`
	Memory      string    `json:"memory"`
	GPU         *spec.GPU `json:"gpu,omitempty"`
	Description string    `json:"description,omitempty"`
	// Images are the images that offer it (those that start a session
	// server, spec.Library.ServerOf); Default those whose default
	// it is.
	Images  []string `json:"images"`
	Default []string `json:"default"`
	Fits    []Fit    `json:"fits"`
}

// Pool is a node pool.
type Pool struct {
	Name   string    `json:"name"`
	CPU    float64   `json:"cpu"`
	Memory string    `json:"memory"`
	GPU    *spec.GPU `json:"gpu,omitempty"`
}

// Fit is how a preset packs on one node of a pool.
type Fit struct {
	Pool string `json:"pool"`
	// Sessions is how many sessions fit one node (0: none).
	Sessions int `json:"sessions"`
	// IdleCPU and IdleMemory are the shares (0–1) of the node's CPU and
	// memory no session uses when it holds Sessions of them.
	IdleCPU    float64 `json:"idle_cpu"`
	IdleMemory float64 `json:"idle_memory"`
	IdleGPU    float64 `json:"idle_gpu,omitempty"`
}

// Of computes the capacity view of lib.
func Of(lib *spec.Library) *Report {
	r := &Report{FormatVersion: FormatVersion, Presets: []Preset{}, Pools: []Pool{}}
	var pools []*spec.NodePool
	for _, p := range lib.Policy.NodePools {
		pools = append(pools, p)
	}
	sort.Slice(pools, func(i, j int) bool { return pools[i].Name < pools[j].Name })
	for _, p := range pools {
		r.Pools = append(r.Pools, Pool{Name: p.Name, CPU: p.CPU, Memory: p.Memory, GPU: p.GPU})
	}
	for _, s := range lib.SortedSizes() {
		pr := Preset{Name: s.Name, CPU: s.CPU, Memory: s.Memory, GPU: s.GPU, Description: s.Description, Images: []string{}, Default: []string{}, Fits: []Fit{}}
		for _, im := range lib.Images {
			if lib.ServerOf(im) == spec.ServerNone {
				continue // no sessions: launchers do not offer it
			}
			for i, o := range lib.SizesOf(im) {
				if o.Name == s.Name {
					pr.Images = append(pr.Images, im.Name)
					if i == 0 {
						pr.Default = append(pr.Default, im.Name)
					}
				}
			}
		}
		for _, p := range pools {
			n := p.Fits(s)
			f := Fit{Pool: p.Name, Sessions: n, IdleCPU: 1, IdleMemory: 1}
			if n > 0 {
				f.IdleCPU = round((p.CPU - float64(n)*s.CPU) / p.CPU)
				f.IdleMemory = round(float64(p.MemoryBytes-int64(n)*s.MemoryBytes) / float64(p.MemoryBytes))
			}
			if p.GPU != nil && p.GPU.Count > 0 {
				used := 0
				if s.GPU != nil && s.GPU.Resource == p.GPU.Resource {
					used = n * s.GPU.Count
				}
				f.IdleGPU = round(float64(p.GPU.Count-used) / float64(p.GPU.Count))
			}
			pr.Fits = append(pr.Fits, f)
		}
		r.Presets = append(r.Presets, pr)
	}
	return r
}

func round(x float64) float64 { return math.Round(x*1000) / 1000 }

// WriteJSON writes r as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText renders r: one row per preset and pool.
func (r *Report) WriteText(w io.Writer) error {
	if len(r.Presets) == 0 {
		fmt.Fprintln(w, "No size presets (sizes: NAME: {cpu, memory}).")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if len(r.Pools) == 0 {
		fmt.Fprintln(tw, "PRESET\tCPU\tMEMORY\tGPU\tIMAGES")
		for _, p := range r.Presets {
			fmt.Fprintf(tw, "%s\t%g\t%s\t%s\t%s\n", p.Name, p.CPU, p.Memory, gpu(p.GPU), images(p))
		}
		tw.Flush()
		fmt.Fprintln(w, "\nNo node pools (policy.nodePools): how presets pack on nodes is not known.")
		return nil
	}
	fmt.Fprintln(tw, "PRESET\tCPU\tMEMORY\tGPU\tPOOL\tSESSIONS/NODE\tIDLE CPU\tIDLE MEMORY\tIDLE GPU\tIMAGES")
	gpuPool := map[string]bool{}
	for _, p := range r.Pools {
		gpuPool[p.Name] = p.GPU != nil && p.GPU.Count > 0
	}
	for _, p := range r.Presets {
		for i, f := range p.Fits {
			name, cpu, mem, g, ims := p.Name, fmt.Sprintf("%g", p.CPU), p.Memory, gpu(p.GPU), images(p)
			if i > 0 {
				name, cpu, mem, g, ims = "", "", "", "", ""
			}
			sessions, idleCPU, idleMem, idleGPU := "does not fit", "-", "-", "-"
			if f.Sessions > 0 {
				sessions, idleCPU, idleMem = fmt.Sprint(f.Sessions), pct(f.IdleCPU), pct(f.IdleMemory)
				if gpuPool[f.Pool] {
					idleGPU = pct(f.IdleGPU)
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", name, cpu, mem, g, f.Pool, sessions, idleCPU, idleMem, idleGPU, ims)
		}
	}
	return tw.Flush()
}

func gpu(g *spec.GPU) string {
	if g == nil {
		return "-"
	}
	return fmt.Sprintf("%d %s", g.Count, g.Resource)
}

func images(p Preset) string {
	if len(p.Images) == 0 {
		return "(none)"
	}
	out := make([]string, len(p.Images))
	for i, n := range p.Images {
		out[i] = n
		for _, d := range p.Default {
			if d == n {
				out[i] += "*"
			}
		}
	}
	return strings.Join(out, ", ")
}

func pct(x float64) string { return fmt.Sprintf("%.0f%%", x*100) }
