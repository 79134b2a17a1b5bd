// Package kubernetes holds the manifests of a pool of rootless BuildKit
// daemons for imgctl publish on Kubernetes (kubectl apply -k
// deploy/kubernetes; docs/scale.md): a StatefulSet of buildkitd with mTLS
// on :1234, its headless Service, its buildkitd.toml and a
// PodDisruptionBudget, and certs.sh, which makes the certificates.
//
// It has no Go code: its test renders the manifests with kustomize, parses
// every object strictly into the Kubernetes API types and buildkitd.toml
// into BuildKit's config, and checks that the pieces fit (ports, names,
// labels, the TLS secret, the rootless security context). The Kubernetes
// API modules are imported by that test only; imgctl itself must never
// import them.
package kubernetes
