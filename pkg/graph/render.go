package graph

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// Formats lists the names accepted by Render.
var Formats = []string{"text", "dot", "mermaid"}

// Render writes the forest with external bases as roots, in a deterministic
// order. label returns the text shown for a node (e.g. a pinned version).
func (g *Graph) Render(w io.Writer, format string, label func(n string) string) error {
	if label == nil {
		label = func(n string) string { return n }
	}
	switch format {
	case "text":
		g.renderText(w, label)
	case "dot":
		g.renderDot(w, label)
	case "mermaid":
		g.renderMermaid(w, label)
	default:
		return fmt.Errorf("unknown graph format %q (want %s)", format, strings.Join(Formats, ", "))
	}
	return nil
}

// bases groups the roots by their external parent, in sorted order.
func (g *Graph) bases() ([]string, map[string][]string) {
	by := map[string][]string{}
	for _, r := range g.Roots() {
		by[g.external[r]] = append(by[g.external[r]], r)
	}
	keys := make([]string, 0, len(by))
	for k := range by {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys, by
}

func (g *Graph) renderText(w io.Writer, label func(string) string) {
	keys, by := g.bases()
	var walk func(n, indent string, last bool)
	walk = func(n, indent string, last bool) {
		branch, next := "├── ", "│   "
		if last {
			branch, next = "└── ", "    "
		}
		fmt.Fprintf(w, "%s%s%s\n", indent, branch, label(n))
		kids := g.children[n]
		for i, c := range kids {
			walk(c, indent+next, i == len(kids)-1)
		}
	}
	for _, k := range keys {
		name := k
		if name == "" {
			name = "(no base)"
		}
		fmt.Fprintf(w, "%s\n", name)
		for i, r := range by[k] {
			walk(r, "", i == len(by[k])-1)
		}
	}
}

func (g *Graph) ids() map[string]string {
	ids := map[string]string{}
	keys, _ := g.bases()
	for i, k := range keys {
		ids["\x00"+k] = fmt.Sprintf("base%d", i)
	}
	for i, n := range g.nodes {
		ids[n] = fmt.Sprintf("img%d", i)
	}
	return ids
}

// drawing is the graph laid out for the node-and-edge formats: stable ids,
// base nodes, image nodes in Order, and edges base→root then parent→child.
type drawing struct {
	bases  [][2]string // id, label
	images [][2]string // id, label
	edges  [][2]string // from id, to id
}

func (g *Graph) draw(label func(string) string) drawing {
	ids := g.ids()
	keys, by := g.bases()
	var d drawing
	for _, k := range keys {
		d.bases = append(d.bases, [2]string{ids["\x00"+k], baseName(k)})
	}
	order := g.Order()
	for _, n := range order {
		d.images = append(d.images, [2]string{ids[n], label(n)})
	}
	for _, k := range keys {
		for _, r := range by[k] {
			d.edges = append(d.edges, [2]string{ids["\x00"+k], ids[r]})
		}
	}
	for _, n := range order {
		for _, c := range g.children[n] {
			d.edges = append(d.edges, [2]string{ids[n], ids[c]})
		}
	}
	return d
}

func (g *Graph) renderDot(w io.Writer, label func(string) string) {
	d := g.draw(label)
	fmt.Fprintln(w, "digraph imgctl {")
	fmt.Fprintln(w, "  rankdir=LR;")
	for _, b := range d.bases {
		fmt.Fprintf(w, "  %s [label=%q, shape=box, style=dashed];\n", b[0], b[1])
	}
	for _, n := range d.images {
		fmt.Fprintf(w, "  %s [label=%q];\n", n[0], n[1])
	}
	for _, e := range d.edges {
		fmt.Fprintf(w, "  %s -> %s;\n", e[0], e[1])
	}
	fmt.Fprintln(w, "}")
}

func (g *Graph) renderMermaid(w io.Writer, label func(string) string) {
	d := g.draw(label)
	fmt.Fprintln(w, "graph TD")
	for _, b := range d.bases {
		fmt.Fprintf(w, "  %s[/\"%s\"/]\n", b[0], mermaidText(b[1]))
	}
	for _, n := range d.images {
		fmt.Fprintf(w, "  %s[\"%s\"]\n", n[0], mermaidText(n[1]))
	}
	for _, e := range d.edges {
		fmt.Fprintf(w, "  %s --> %s\n", e[0], e[1])
	}
}

func baseName(k string) string {
	if k == "" {
		return "(no base)"
	}
	return k
}

func mermaidText(s string) string { return strings.ReplaceAll(s, `"`, "#quot;") }
