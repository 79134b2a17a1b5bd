// Package regclient is imgctl's registry client: listing tags, reading and
// resolving manifests, writing tags, and — for imgctl prune only —
// deleting manifests and tags and listing referrers, on top of
// go-containerregistry. CheckDelete tells a registry that refuses deletes
// (ErrDeleteDisabled) without deleting anything. MountLayers makes an
// image's layers present in another repository of the same registry by
// cross-repository mounts, never by upload (publish, before a build whose
// cache export would upload them).
//
// It owns the connection pool (one authenticated transport per registry, so
// the auth handshake happens once), plain HTTP only for loopback or
// explicitly insecure registries, request counting for benchmarks, and the
// one retry policy for every registry request imgctl makes, reads and
// writes alike: tags, manifests, lifecycle markers and their fallback
// indexes, blobs.
//
// Retries: a request that failed transiently (429, 408, 5xx, a connection
// reset, refused or cut short, a timeout; see Transient) is sent again
// after an exponential backoff with jitter (100 ms doubling up to 5 s, or
// the registry's Retry-After on 429 and 503, up to 30 s), at most
// 1+WithRetries times, and every retry is logged at info level
// (WithLogger). Only what can be replayed is retried: requests without a
// body or with GetBody. Blob upload sessions are never replayed; for them
// go-containerregistry restarts the whole upload under the same policy
// (see Client.WriteOptions). Options from ReadOptions and WriteOptions
// carry the policy, so go-containerregistry adds no retry layer of its own.
// Transient and TransientMessage are the classification other packages
// reuse (the builder, for push errors that reach it as text).
//
// Errors name the registry and the repository. It must not decide
// anything: no planning, no building.
package regclient
