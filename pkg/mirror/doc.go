// Package mirror copies external bases into the library's mirror
// (policy.mirror, HOST[:PORT]/PREFIX): each base by digest to
// PREFIX/<upstream repository path>@<digest>, the whole manifest as it
// is (an index with every child manifest, so the copy has the upstream's
// digest and every platform), with the upstream's cosign signatures and
// attestations (sha256-<hex>.sig/.att/.sbom tags) and OCI referrers when
// present, and records the upstream tag as the same tag in the mirror
// repository, so that a plan can find the digest once upstream is gone.
//
// What is already in the mirror is never copied again, and nothing in
// the mirror is ever overwritten except the mirror's own record of an
// upstream tag (which follows upstream, as a copy of a moving tag must).
// It deletes nothing.
//
// It reads and writes through the registry client (pkg/regclient: one
// retry policy, the plain-HTTP guard); it does not plan, build or decide
// which bases a library needs (publish and the mirror command do), and
// must not import the planner.
package mirror
