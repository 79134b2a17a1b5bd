// Package published is the vocabulary of what imgctl writes to a registry
// and reads back: the annotation keys on every version, dated versions
// (YYYY.MM.DD, YYYY.MM.DD.N) as a typed value that is parsed, compared and
// incremented rather than sliced by hand, the kinds of tags a repository
// holds (imgctl's versions, moving tags, deprecation tags, attached
// artifacts, and tags imgctl did not write), and Manifest, a published
// manifest or index as read.
//
// Every package that plans, reports or checks published versions (plan,
// status, catalog, verify, diff, test, inventory) imports this one; it
// imports nothing of the module. It must not do I/O: no registry client,
// no files, no clock (days are inputs).
package published
