// Package e2etest starts the real things end-to-end tests run against: a
// Debian distribution registry (docker-registry, distribution 2.8), an
// in-process go-containerregistry registry, a BuildKit daemon, skopeo as an
// independent client, and rootfs tarballs to build base images from.
//
// Everything it starts is stopped by t.Cleanup, except the BuildKit daemon,
// which is shared by all tests of one test binary and stopped by [Main]:
//
//	func TestMain(m *testing.M) { e2etest.Main(m) }
//
// A missing tool (binary not installed, not running as root) skips the test,
// unless the environment variable IMGCTL_E2E is set to a true value, in
// which case it fails the test, so CI cannot pass by skipping. Install
// everything with hack/install-deps.sh.
//
// This package is for tests only: no production package may import it, and
// it must not contain imgctl logic, only the harness around it. It runs on
// Linux only (buildkitd needs root and runc).
package e2etest
