package spec

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"cuelang.org/go/cue"
)

// Size is a size preset: what a session of an image is guaranteed and
// limited to.
type Size struct {
	Name string `json:"name"`
	// CPU is in cores.
	CPU float64 `json:"cpu"`
	// Memory is the quantity as written ("8Gi"); MemoryBytes its value.
	Memory      string `json:"memory"`
	MemoryBytes int64  `json:"memory_bytes"`
	GPU         *GPU   `json:"gpu,omitempty"`
	Description string `json:"description,omitempty"`
	Pos         Pos    `json:"-"`
}

// GPU is a count of an extended resource ("nvidia.com/gpu").
type GPU struct {
	Count    int    `json:"count"`
	Resource string `json:"resource"`
}

// NodePool is a node shape of the cluster: a node's allocatable resources.
type NodePool struct {
	Name        string  `json:"name"`
	CPU         float64 `json:"cpu"`
	Memory      string  `json:"memory"`
	MemoryBytes int64   `json:"memory_bytes"`
	GPU         *GPU    `json:"gpu,omitempty"`
	Pos         Pos     `json:"-"`
}

// Fits says how many sessions of s fit one node of p: limited by CPU,
// memory and, for a preset with GPUs, the node's GPUs of that resource.
func (p *NodePool) Fits(s *Size) int {
	n := int(math.Floor(p.CPU/s.CPU + 1e-9))
	n = min(n, int(p.MemoryBytes/s.MemoryBytes))
	if s.GPU != nil {
		if p.GPU == nil || p.GPU.Resource != s.GPU.Resource {
			return 0
		}
		n = min(n, p.GPU.Count/s.GPU.Count)
	}
	return max(n, 0)
}

// SortedSizes returns the presets smallest first: by GPUs, CPU, memory,
// then name.
func (l *Library) SortedSizes() []*Size {
	out := make([]*Size, 0, len(l.Sizes))
	for _, s := range l.Sizes {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		ga, gb := gpuCount(a.GPU), gpuCount(b.GPU)
		switch {
		case ga != gb:
			return ga < gb
		case a.CPU != b.CPU:
			return a.CPU < b.CPU
		case a.MemoryBytes != b.MemoryBytes:
			return a.MemoryBytes < b.MemoryBytes
		}
		return a.Name < b.Name
	})
	return out
}

func gpuCount(g *GPU) int {
	if g == nil {
		return 0
	}
	return g.Count
}

// Session servers (Image.Server).
const (
	ServerJupyter = "jupyter"
	ServerVSCode  = "vscode"
	ServerRStudio = "rstudio"
	ServerNone    = "none"
)

// ServerOf returns the session server im starts: its own server, else
// its nearest ancestor's in the library, else ServerNone.
func (l *Library) ServerOf(im *Image) string {
	for seen := 0; im != nil && seen <= len(l.Images); seen++ {
		if im.Server != "" {
			return im.Server
		}
		if im.Parent == "" {
			break
		}
		im = l.Image(im.Parent)
	}
	return ServerNone
}

// SizesOf returns the presets im offers, the default first: those its
// sizes name, in order, else every preset without a GPU, smallest first.
func (l *Library) SizesOf(im *Image) []*Size {
	var out []*Size
	if len(im.Sizes) > 0 {
		for _, n := range im.Sizes {
			if s := l.Sizes[n]; s != nil {
				out = append(out, s)
			}
		}
		return out
	}
	for _, s := range l.SortedSizes() {
		if s.GPU == nil {
			out = append(out, s)
		}
	}
	return out
}

// decodeSizes reads the top-level sizes and policy.nodePools.
func decodeSizes(lib *Library, v cue.Value, internal func(string) bool, c func(Pos, string, ...any)) {
	type raw struct {
		CPU         float64 `json:"cpu"`
		Memory      string  `json:"memory"`
		GPU         *GPU    `json:"gpu"`
		Description string  `json:"description"`
	}
	each := func(path string, f func(name string, r raw, pos Pos)) {
		sv := v.LookupPath(cue.ParsePath(path))
		if !sv.Exists() {
			return
		}
		it, err := sv.Fields()
		if err != nil {
			return // the schema reports it
		}
		for it.Next() {
			var r raw
			if err := it.Value().Decode(&r); err != nil {
				continue // the schema reports it
			}
			f(it.Selector().Unquoted(), r, valuePos(it.Value(), internal))
		}
	}
	bytesOf := func(what, q string, pos Pos) int64 {
		b, ok := quantityBytes(q)
		if !ok {
			c(pos, "%s: memory %q is not a Kubernetes quantity of bytes (512Mi, 8Gi)", what, q)
			return 0
		}
		return b
	}
	each("sizes", func(n string, r raw, pos Pos) {
		if lib.Sizes == nil {
			lib.Sizes = map[string]*Size{}
		}
		lib.Sizes[n] = &Size{Name: n, CPU: r.CPU, Memory: r.Memory, MemoryBytes: bytesOf("sizes."+n, r.Memory, pos), GPU: r.GPU, Description: r.Description, Pos: pos}
	})
	each("policy.nodePools", func(n string, r raw, pos Pos) {
		if lib.Policy.NodePools == nil {
			lib.Policy.NodePools = map[string]*NodePool{}
		}
		lib.Policy.NodePools[n] = &NodePool{Name: n, CPU: r.CPU, Memory: r.Memory, MemoryBytes: bytesOf("policy.nodePools."+n, r.Memory, pos), GPU: r.GPU, Pos: pos}
	})
}

// quantityBytes reads a Kubernetes memory quantity of the form the schema
// allows (a decimal number and an optional binary Ki…Pi or decimal K…P
// suffix), rounded up to whole bytes as Kubernetes does. It is written
// out rather than taken from k8s.io/apimachinery, which the CLI must not
// link (internal/layering): the schema leaves only this shape.
func quantityBytes(q string) (int64, bool) {
	num, mult := q, 1.0
	for _, u := range []struct {
		s string
		m float64
	}{{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"Ti", 1 << 40}, {"Pi", 1 << 50},
		{"K", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12}, {"P", 1e15}} {
		if n, ok := strings.CutSuffix(q, u.s); ok {
			num, mult = n, u.m
			break
		}
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f <= 0 || strings.ContainsAny(num, "eE+-") {
		return 0, false
	}
	b := math.Ceil(f * mult)
	if b > math.MaxInt64/2 {
		return 0, false
	}
	return int64(b), true
}

// checkSizes checks that every image's sizes name presets and, with node
// pools, that every preset fits one.
func checkSizes(lib *Library, c *collector) {
	for _, im := range lib.Images {
		for _, n := range im.Sizes {
			if lib.Sizes[n] == nil {
				c.add(im.PosOf("sizes"), "images.%s.sizes: no size preset %q (the library's sizes: %s)", im.Name, n, sizeNames(lib))
			}
		}
	}
	if len(lib.Policy.NodePools) == 0 {
		return
	}
	for _, s := range lib.SortedSizes() {
		if s.MemoryBytes == 0 {
			continue // reported
		}
		fits := false
		for _, p := range lib.Policy.NodePools {
			fits = fits || p.MemoryBytes > 0 && p.Fits(s) > 0
		}
		if !fits {
			c.add(s.Pos, "sizes.%s: %s fits no node pool of policy.nodePools (%s)", s.Name, describe(s), poolNames(lib))
		}
	}
}

func describe(s *Size) string {
	d := fmt.Sprintf("%g CPU, %s", s.CPU, s.Memory)
	if s.GPU != nil {
		d += fmt.Sprintf(", %d %s", s.GPU.Count, s.GPU.Resource)
	}
	return d
}

func sizeNames(lib *Library) string {
	var ns []string
	for _, s := range lib.SortedSizes() {
		ns = append(ns, s.Name)
	}
	if len(ns) == 0 {
		return "none"
	}
	return fmt.Sprint(ns)
}

func poolNames(lib *Library) string {
	var ns []string
	for n, p := range lib.Policy.NodePools {
		d := fmt.Sprintf("%s: %g CPU, %s", n, p.CPU, p.Memory)
		if p.GPU != nil {
			d += fmt.Sprintf(", %d %s", p.GPU.Count, p.GPU.Resource)
		}
		ns = append(ns, d)
	}
	sort.Strings(ns)
	return fmt.Sprint(ns)
}
