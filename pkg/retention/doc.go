// Package retention decides which published versions imgctl prune deletes
// (policy.retention), and why each other version is kept.
//
// [Compute] is pure: from the specs (the policy, the pins parent:
// "x@VERSION", the moving tags), one observation of the registry
// ([Observation]: the status report, what every moving or foreign tag
// points at, the tombstones of interrupted prunes), the digests in use
// (--in-use files, parsed by [ParseInUse]) and the day, it returns a
// [Plan]: every imgctl version of every image with its decision (keep or
// delete), every reason, and for a deletion exactly which tags and
// manifests go. Text and JSON (format_version "1", docs/prune-format.md)
// are renderings of that one value. [Observe] does the registry reads, up
// front, through the read model (status.Collect and a tag resolver).
//
// A version is deleted only when it is past its end of life (its
// lifecycle marker's date) by afterEndOfLifeDays, or when an interrupted
// prune left its tombstone, and nothing protects it. It is never deleted
// when latest or a moving tag points at it, when a tag imgctl did not write
// points at its digest, when it is one of the keepNewest newest, when a
// spec pins it, when it is in use (its index or one of its manifests, by
// digest or by tag), or when a kept version records it as its base
// (org.opencontainers.image.base.digest, which is also how a copy of an
// external base would be recorded). A platform or attestation manifest a
// kept version shares is kept with it. Foreign images (no imgctl content
// key) are never candidates.
//
// It must not do I/O beyond Observe's reads through the interfaces it
// declares (no registry client of its own, no clock, no files), and it
// deletes nothing: package prune applies a plan.
package retention
