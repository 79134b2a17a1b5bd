// Package status reports what the registry holds for each image of a
// library: its dated versions with digests and dates, which one is latest,
// which are deprecated (read back from the lifecycle markers in the
// registry, in both referrers modes), their end-of-life dates and
// successors, a retired image's replacement, and the parent version each
// version was built on. Tags imgctl did not write (a hand-pushed latest,
// v1, a dated-looking tag on a foreign image, a tag whose manifest is
// gone) are listed apart from the versions and never fail the report.
//
// It only reads; it never writes to a registry and keeps no local state.
// It reads through the vocabulary (package published), not the planner.
package status
