// Package changelog computes what changed between two versions of an
// image, from what pkg/inventory read of each in the registry: packages
// added, removed, upgraded and downgraded per ecosystem (deb, python, R,
// other) with old → new versions; changes of the image configuration
// (env, entrypoint, cmd, user, workdir, ports, labels); the base it was
// built on; and the compressed size per platform. It renders the result as
// text and JSON from the same value, and as the one-line counts
// ("+3 −1 ↑12 packages") the publish summary shows.
//
// It is pure: no registry, no context, no clock. It must not read
// anything itself.
package changelog
