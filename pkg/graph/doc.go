// Package graph is the image dependency graph: every image has at most one
// parent inside the library, so the graph is a forest once cycles are ruled
// out. It finds cycles deterministically, orders images parents-first and
// answers descendant queries.
//
// It knows nothing about CUE, registries or builds: nodes are names.
package graph
