// Package prune applies a retention plan (package retention): it deletes
// each chosen version from the registry — its platform and attestation
// manifests, its index, its tags, and every referrer of them (lifecycle
// markers, cosign signatures and attestations under sha256-<hex>.sig/.att
// tags, OCI fallback indexes, anything the referrers API lists) — in an
// order that an interrupted prune can re-run to completion.
//
// Before deleting anything it checks, for every repository it will touch,
// that the registry deletes at all (distribution with delete disabled is
// an error naming the registry, and nothing is deleted), and that every
// version's tag still points at the digest the plan saw (else
// ErrStalePlan: re-plan).
//
// # Why this order converges
//
// A re-run sees only what is still in the registry: the version tags
// (distribution removes a manifest's tags when the manifest is deleted;
// other registries delete tags by name) and, through the index, its
// manifests; through each manifest, its referrers. The decision that a
// version goes rests on its end of life, which comes from the lifecycle
// marker — a referrer prune deletes itself. Deleting the markers first
// would leave a version that the next plan no longer sees as expired (so
// keeps, half deleted); deleting the index first would hide its markers
// and manifests from every later run (untagged manifests cannot be listed).
// So, for each version:
//
//  1. a tombstone is written first: an artifact tagged
//     sha256-<hex of the index>.imgctl-prune (published.PruneTag). While it
//     exists the next plan deletes the version whatever its markers say
//     (unless something now protects it: latest, a moving or foreign tag,
//     keepNewest, a pin, in use, a kept version's base — those always win),
//     and when the index is gone already it finishes the rest (its
//     referrers);
//  2. for each platform and attestation manifest no kept version shares:
//     its referrers (each referrer's own referrers first, then the
//     referrer; the fallback index after the entries it lists), then the
//     manifest. They are found through the index, which still exists;
//  3. the index's referrers, the same way, then the index;
//  4. the version's tags (by name where the registry deletes tags; on
//     distribution they went with the index), checked to be gone: its
//     -deprecated tag first, its own tag last, because on registries that
//     keep tags apart from manifests the version tag is what makes the
//     next plan see the version (and its remaining tags);
//  5. the tombstone, last.
//
// Every delete of something already gone counts as done, so killed at any
// point, the next prune computes the same remaining work from what is
// left and deletes nothing else: before 5 the tombstone names the
// version; before 3 the index names its manifests; a referrer is deleted
// before what it refers to, so it is always still reachable.
//
// What this package must not do: decide anything (the plan did), delete
// what the plan does not name (a manifest a kept version shares is not in
// the plan), or write anything but its tombstones.
package prune
