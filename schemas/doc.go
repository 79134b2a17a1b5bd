// Package schemas holds imgctl's CUE schemas, embedded in the binary.
//
// The files here are the source of truth for the spec language; the spec
// package loads them through the CUE loader's overlay under the import path
// ImportPath. This package must not evaluate CUE itself.
package schemas

import "embed"

// ImportPath is the CUE import path under which user files import the schema.
const ImportPath = "imgctl.dev/schema"

// FS holds the schema files (*.cue).
//
//go:embed *.cue
var FS embed.FS
