// Package status reports what the registry holds for each image of a
// library: its dated versions with digests and dates, which one is latest,
// which are deprecated (read back from the lifecycle markers in the
// registry, in both referrers modes), their end-of-life dates and
// successors, a retired image's replacement, and the parent version each
// version was built on.
//
// It only reads; it never writes to a registry and keeps no local state.
package status
