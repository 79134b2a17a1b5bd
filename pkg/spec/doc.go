// Package spec loads an imgctl library from CUE files and hands out plain Go
// values (Library, Image) that carry the source position of every field.
//
// It is the only package that imports cuelang.org/go: CUE evaluation, schema
// unification, decoding and all static checks (names, parents, cycles, files,
// package names, platforms, policy) live here. It must not talk to a registry
// or a BuildKit daemon, and it never formats errors for people: it returns
// Errors with positions and the CLI renders them.
package spec
