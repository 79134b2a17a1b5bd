// Package regclient is imgctl's registry client: listing tags, reading and
// resolving manifests, and writing tags, on top of go-containerregistry.
//
// It owns the connection pool (one authenticated transport per registry, so
// the auth handshake happens once), retries with backoff on 429, 5xx and
// timeouts, plain HTTP only for loopback or explicitly insecure registries,
// and request counting for benchmarks. Errors name the registry and the
// repository. It must not decide anything: no planning, no building.
package regclient
