// Package lifecycle attaches deprecation markers to container images and
// reads them back.
//
// A marker is an OCI 1.1 artifact manifest whose subject is the deprecated
// image (manifest or index) and whose artifactType is [ArtifactType], the
// convention Microsoft's registry uses for end-of-life metadata. The marker
// carries only annotations: the end-of-life date, when and why the image was
// deprecated, and what superseded or replaces it. Its bytes are a pure
// function of the [Marker] value (no clock, sorted annotation keys), so
// marking twice yields the same digest and writes nothing the second time.
//
// Markers are found through the referrers API or, on registries without it
// (distribution 2.8), through the OCI fallback index tagged
// `sha256-<hex of subject>`, which go-containerregistry maintains with an
// unlocked read-modify-write. [Writer] serialises its own writes per
// repository and re-reads the referrers after each write and again after a
// short settle delay, retrying a bounded number of times if the entry was
// lost to another writer. That narrows the cross-process race but cannot
// close it (no conditional requests): re-running Mark, which is idempotent,
// is the repair.
//
// What this package must not do:
//   - delete anything: no manifest, tag or blob is ever removed;
//   - modify an existing image manifest: the deprecated image keeps its bytes
//     and digest (changing them would invalidate every pin and every BuildKit
//     cache key derived from it); the only existing object a write may change
//     is the fallback index tag, and only by adding an entry;
//   - read the clock into a marker (no org.opencontainers.image.created);
//   - decide what is deprecated: that is the planner's job. This package
//     records a decision that has already been made.
package lifecycle
