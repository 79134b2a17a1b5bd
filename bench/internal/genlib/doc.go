// Package genlib writes synthetic imgctl spec libraries for the benchmarks:
// one external root, language families on it and team environments on the
// families, one image per file, deterministic for a given size and seed.
//
// It only writes CUE text; it must not evaluate CUE (that is what is being
// measured).
package genlib
