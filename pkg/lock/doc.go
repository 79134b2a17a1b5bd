// Package lock is the lock file of an image: every package version the
// image adds over its parent, per platform and ecosystem (apt, pip, r),
// as resolved by `imgctl lock` and installed exactly by a publish.
//
// It defines the format (format_version "1", docs/lock-format.md), reads
// and writes it deterministically (sorted, indented, one newline at the
// end, so a package change is a one-line diff), digests what resolution
// depends on (Inputs: how a stale lock is detected), compares two locks
// (Changes: what plan shows before building) and parses what the
// resolution probes print inside BuildKit (ParseApt, ParsePipReport,
// ParseR).
//
// It must not do I/O beyond the one file Read and Write are given: no
// registry, no daemon, no clock. It imports nothing of the module, so the
// spec loader, the planner and the builder all can.
package lock
