// Package plan decides what a publish would do, before anything runs.
//
// Observe does every registry read up front and returns a Snapshot. Compute
// is pure — no context, no I/O, no clock (the date is an input): from the
// loaded specs and a Snapshot it returns a Plan, a value holding one decision
// per image (build, skip, retire, blocked) with the reasons and spec
// positions behind it, the tag steps and the deprecation steps, in a stable
// order. Text and JSON are both rendered from that value.
//
// A repository may hold tags imgctl did not write (a hand-pushed latest,
// v1, a dated-looking tag, a Helm chart, a tag whose manifest is gone):
// Observe records them as foreign, and no step supersedes, marks or pins
// them; only latest and the spec's moving tags are moved.
//
// This package must not build, push, tag or mark anything, must not
// import CUE (specs arrive as spec.Library values), and must not link a
// registry client or the lifecycle writer: Observe reads through the
// Registry interface it declares (readmodel adapts the client to it), and
// the vocabulary (annotations, dated versions) is package published.
package plan
