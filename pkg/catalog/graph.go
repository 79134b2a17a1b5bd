package catalog

import (
	"fmt"
	"sort"
)

// Graph layout constants, in SVG user units.
const (
	nodeW  = 176
	nodeH  = 52
	gapX   = 24
	gapY   = 56
	margin = 8
)

// Layout is the dependency graph laid out for drawing: one row per depth
// (roots on top), nodes of a row ordered by their parent's position, then
// by name; deterministic for a given catalog.
type Layout struct {
	Width, Height int
	Nodes         []Node
	Edges         []Edge
}

// Node is one image's box.
type Node struct {
	Name string
	X, Y int
	// Label is the second line: the latest version, "retired", or "not
	// published".
	Label string
	// Marked says the image is retired (drawn dashed, labelled).
	Marked bool
	// Pinned is the parent version the image is pinned to, if any.
	Pinned string
	// Base is a root's external base.
	Base string
}

// Edge joins a parent's box to its child's.
type Edge struct {
	From, To string
	// Path is the SVG path data.
	Path string
	// Pinned is the parent version the child is pinned to, if any;
	// LabelX and LabelY place that label.
	Pinned         string
	LabelX, LabelY int
}

// LayoutGraph lays out the catalog's dependency graph.
func LayoutGraph(c *Catalog) Layout {
	byDepth := map[int][]*Image{}
	maxDepth := 0
	for i := range c.Images {
		im := &c.Images[i]
		byDepth[im.Depth] = append(byDepth[im.Depth], im)
		maxDepth = max(maxDepth, im.Depth)
	}
	pos := map[string]int{} // name -> index within its row
	var l Layout
	widest := 0
	for d := 0; d <= maxDepth; d++ {
		row := byDepth[d]
		sort.SliceStable(row, func(i, j int) bool {
			pi, pj := parentPos(pos, row[i]), parentPos(pos, row[j])
			if pi != pj {
				return pi < pj
			}
			return row[i].Name < row[j].Name
		})
		for i, im := range row {
			pos[im.Name] = i
		}
		widest = max(widest, len(row))
	}
	l.Width = 2*margin + max(1, widest)*nodeW + max(0, widest-1)*gapX
	l.Height = 2*margin + (maxDepth+1)*nodeH + maxDepth*gapY
	xy := map[string][2]int{}
	for d := 0; d <= maxDepth; d++ {
		row := byDepth[d]
		// Center each row in the widest one.
		rowW := len(row)*nodeW + max(0, len(row)-1)*gapX
		x0 := margin + (l.Width-2*margin-rowW)/2
		for i, im := range row {
			n := Node{Name: im.Name, X: x0 + i*(nodeW+gapX), Y: margin + d*(nodeH+gapY), Pinned: im.ParentVersion, Base: im.From}
			switch {
			case im.State == StateRetired:
				n.Label, n.Marked = "retired", true
				if im.Retired.Replacement != "" {
					n.Label += " → " + im.Retired.Replacement
				}
			case im.Latest != "":
				n.Label = im.Latest
			case len(im.Versions) > 0:
				n.Label = im.Versions[0].Version
			default:
				n.Label = "not published"
			}
			xy[im.Name] = [2]int{n.X, n.Y}
			l.Nodes = append(l.Nodes, n)
		}
	}
	for _, n := range l.Nodes {
		im := c.Image(n.Name)
		p, ok := xy[im.Parent]
		if im.Parent == "" || !ok {
			continue
		}
		x1, y1 := p[0]+nodeW/2, p[1]+nodeH
		x2, y2 := n.X+nodeW/2, n.Y
		my := (y1 + y2) / 2
		e := Edge{From: im.Parent, To: im.Name, Pinned: im.ParentVersion,
			Path: fmt.Sprintf("M%d %d C%d %d %d %d %d %d", x1, y1, x1, my, x2, my, x2, y2-6)}
		e.LabelX, e.LabelY = x2+6, y2-10
		l.Edges = append(l.Edges, e)
	}
	sort.Slice(l.Edges, func(i, j int) bool {
		if l.Edges[i].From != l.Edges[j].From {
			return l.Edges[i].From < l.Edges[j].From
		}
		return l.Edges[i].To < l.Edges[j].To
	})
	return l
}

func parentPos(pos map[string]int, im *Image) int {
	if p, ok := pos[im.Parent]; ok {
		return p
	}
	return -1
}
