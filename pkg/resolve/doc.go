// Package resolve resolves an image's lock: for each platform it runs
// probes in BuildKit (build.Client.Probe) on the parent's locked build,
// with the same sources and secrets as a build, and turns their answers
// into a lock.Lock: the apt packages the image adds over its parent (the
// closure, from dpkg's state before and after installing them), the pip
// distributions pip would install (its --dry-run --report), the R
// packages install.packages would fetch (with their sha256).
//
// A child never moves a version an ancestor locked: such a resolution is
// a *ConflictError naming the spec position, the package, what the child
// needed and what the ancestor pinned.
//
// It does not decide which images to lock or in which order (the lock
// command does), writes no file and talks to no registry.
package resolve
