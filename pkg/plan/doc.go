// Package plan decides what a publish would do, before anything runs.
//
// Observe does every registry read up front and returns a Snapshot. Compute
// is pure — no context, no I/O, no clock (the date is an input): from the
// loaded specs and a Snapshot it returns a Plan, a value holding one decision
// per image (build, skip, retire, blocked) with the reasons and spec
// positions behind it, the tag steps and the deprecation steps, in a stable
// order. Text and JSON are both rendered from that value.
//
// This package must not build, push, tag or mark anything, and must not
// import CUE: specs arrive as spec.Library values.
package plan
