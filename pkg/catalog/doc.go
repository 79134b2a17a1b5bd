// Package catalog makes the catalog of a library: what data scientists open
// to choose an environment. It reads the registry once (Observe: every
// image's versions, lifecycle markers and trust state through pkg/status,
// what each version holds through pkg/inventory), computes one Catalog value
// from that (Compute: pure; the changelog between consecutive versions
// comes from pkg/changelog) and renders it as catalog.json and as a
// self-contained static site (HTML, CSS, a little vanilla JavaScript, the
// dependency graph as an inline SVG it lays out itself) with relative
// links only, so it works from file:// and under any sub-path. WriteSite
// replaces a previous catalog directory atomically.
//
// It only reads registries: it must not build, publish, tag, mark or sign
// anything, nor load specs itself (the caller hands it a loaded library).
// Rendering never reads the registry or the clock: the generation time is
// part of the Catalog value, so output is a function of that value.
package catalog
