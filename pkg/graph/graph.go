package graph

import (
	"errors"
	"sort"
)

// ErrCycle is wrapped by errors reporting a dependency cycle.
var ErrCycle = errors.New("dependency cycle")

// Graph is a set of named nodes with at most one parent each.
type Graph struct {
	nodes    []string            // sorted
	parent   map[string]string   // child -> parent, only for parents that are nodes
	external map[string]string   // root -> its parent outside the graph ("" for none)
	children map[string][]string // parent -> sorted children
}

// New builds a graph from a map of node to parent name ("" for a root).
// Parents that are not nodes themselves are treated as external: the node is
// a root of the graph.
func New(parents map[string]string) *Graph {
	g := &Graph{parent: map[string]string{}, children: map[string][]string{}, external: map[string]string{}}
	for n := range parents {
		g.nodes = append(g.nodes, n)
	}
	sort.Strings(g.nodes)
	for _, n := range g.nodes {
		p := parents[n]
		if _, ok := parents[p]; ok && p != "" {
			g.parent[n] = p
			g.children[p] = append(g.children[p], n)
		} else {
			g.external[n] = p
		}
	}
	return g
}

// Nodes returns every node, sorted.
func (g *Graph) Nodes() []string { return g.nodes }

// Parent returns the in-graph parent of n, or "".
func (g *Graph) Parent(n string) string { return g.parent[n] }

// External returns the out-of-graph parent of root n ("" when n has an
// in-graph parent or none at all).
func (g *Graph) External(n string) string { return g.external[n] }

// Children returns the direct children of n, sorted.
func (g *Graph) Children(n string) []string { return g.children[n] }

// Cycles returns every cycle, each rotated to start at its smallest name,
// sorted by that name. Because each node has one parent, cycles are disjoint.
func (g *Graph) Cycles() [][]string {
	const (
		unseen = iota
		onPath
		done
	)
	state := make(map[string]int, len(g.nodes))
	var cycles [][]string
	for _, start := range g.nodes {
		var path []string
		n, closed := start, false
		for state[n] == unseen {
			state[n] = onPath
			path = append(path, n)
			p, ok := g.parent[n]
			if !ok {
				closed = false
				break
			}
			n, closed = p, true
		}
		if closed && state[n] == onPath {
			// n is on the current path: the cycle is the path from n.
			for i, m := range path {
				if m == n {
					cycles = append(cycles, rotate(path[i:]))
					break
				}
			}
		}
		for _, m := range path {
			state[m] = done
		}
	}
	sort.Slice(cycles, func(i, j int) bool { return cycles[i][0] < cycles[j][0] })
	return cycles
}

// rotate returns the cycle starting at its smallest element.
func rotate(c []string) []string {
	min := 0
	for i := range c {
		if c[i] < c[min] {
			min = i
		}
	}
	out := append([]string{}, c[min:]...)
	return append(out, c[:min]...)
}

// Order returns the nodes parents-first; among nodes at the same depth,
// sorted by name. Nodes on a cycle are left out.
func (g *Graph) Order() []string {
	var out []string
	level := g.Roots()
	for len(level) > 0 {
		out = append(out, level...)
		var next []string
		for _, n := range level {
			next = append(next, g.children[n]...)
		}
		sort.Strings(next)
		level = next
	}
	return out
}

// Roots returns the nodes without an in-graph parent, sorted.
func (g *Graph) Roots() []string {
	var out []string
	for _, n := range g.nodes {
		if _, ok := g.parent[n]; !ok {
			out = append(out, n)
		}
	}
	return out
}

// Closure returns the given nodes and all their in-graph ancestors, in Order.
func (g *Graph) Closure(names []string) []string {
	want := map[string]bool{}
	for _, n := range names {
		for !want[n] && n != "" {
			want[n] = true
			n = g.parent[n]
		}
	}
	var out []string
	for _, n := range g.Order() {
		if want[n] {
			out = append(out, n)
		}
	}
	return out
}
