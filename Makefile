# imgctl — the two commands a newcomer needs:
#   make demo   build and publish the example images/ to a local registry
#   make test   run every test (installs and starts what the tests need)

GO       ?= go
OUT      := _output
BIN      := bin
IMGCTL   := $(BIN)/imgctl
REGISTRY_PORT ?= 5000
export GOFLAGS ?= -buildvcs=false

.PHONY: schema-sync all build deps deps-certs disk-test disk-demo lint-scripts demo-go demo-tools demo-rootfs deps-system deps-tools scanner test test-prereqs vet-main vet-scanner test-short demo stop bench bench-validate bench-plan bench-publish bench-pool fuzz fmt vet clean

all: build

# Static and without paths, as the tools and the scanner are built
# (hack/lib.sh's GO_BUILD_ENV and GO_BUILD_FLAGS): one configuration, so that
# the packages they share with imgctl compile once into GOCACHE.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -o $(IMGCTL) ./cmd/imgctl

# Debian packages (runc, docker-registry, skopeo, debootstrap, busybox-static)
# and bin/buildkitd, bin/buildctl, bin/cue, bin/cosign, bin/docker-buildx built
# from the Go module proxy (pinned in hack/tools).
deps:
	hack/install-deps.sh all

# imgctl's SBOM scanner (scanner/, a module of its own: syft as a library),
# built into bin/scanner/linux_<arch>/imgctl-sbom-scanner, where publish
# finds it beside bin/imgctl and pushes it as an image. BuildKit runs it on
# the daemon's own platform: SCANNER_ARCH=all builds amd64 and arm64 too,
# for daemons of both.
SCANNER_ARCH ?= native
scanner:
	hack/scanner.sh $(SCANNER_ARCH)

# Every test of the project. End-to-end tests start their own registries
# (Debian's distribution 2.8 and go-containerregistry's in-process one);
# IMGCTL_E2E=1 makes a missing
# component a failure, never a skip. What the tests need is made in
# parallel first (test-prereqs): the Debian packages download while the Go
# tools, the scanner and the vetted packages compile, and one job links
# while another compiles; on a fresh machine that is minutes less.
#
# One BuildKit daemon serves every package's tests (BUILDKIT_HOST): its
# cache is shared, and no test binary starts a cold daemon of its own. Its
# state starts empty each run (_output/test-buildkitd) and it is stopped
# after, whatever the tests' result.
#
# -parallel 3, one more than the cores: some end-to-end tests spend minutes
# waiting (retry backoff through a fault proxy, a daemon killed on purpose,
# a hub spawning a server) and at -parallel 2 (GOMAXPROCS) two of them left
# the CPUs idle for minutes at a time (docs/performance.md, make test).
TEST_BUILDKITD := $(OUT)/test-buildkitd
test: test-prereqs
	-hack/buildkitd.sh stop $(TEST_BUILDKITD) 2>/dev/null
	rm -rf --one-file-system $(TEST_BUILDKITD)
	hack/buildkitd.sh start $(TEST_BUILDKITD)
	BUILDKIT_HOST=unix://$(abspath $(TEST_BUILDKITD))/buildkitd.sock IMGCTL_E2E=1 $(GO) test -parallel 3 -timeout 60m ./...; \
	rc=$$?; hack/buildkitd.sh stop $(TEST_BUILDKITD); \
	if [ $$rc -eq 0 ]; then rm -rf --one-file-system $(TEST_BUILDKITD)/root; fi; exit $$rc

# What make test needs free, measured (docs/performance.md, make test): 15
# GiB at its peak with the Go caches warm (the BuildKit daemon's cache, the
# tests' registries and podman stores under TMPDIR), 4 GiB more for each Go
# cache still empty (check-disk.sh --go). Checked before anything is built: a
# full disk otherwise fails a link or a layer minutes in.
TEST_DISK_GIB ?= 16
disk-test:
	hack/check-disk.sh --go $(TEST_DISK_GIB) "make test" $(OUT) "$${TMPDIR:-/tmp}"

test-prereqs: disk-test deps-certs
	$(MAKE) -j4 --output-sync=target deps-system deps-tools scanner vet-main vet-scanner
	$(MAKE) lint-scripts

# Debian's shellcheck on every script of the project (.shellcheckrc lets it
# follow what each script sources). Installed by deps-system.
lint-scripts:
	shellcheck -x hack/*.sh bench/*.sh .ci/run

# What go needs to download modules, before the Go builds start.
deps-certs:
	hack/install-deps.sh certs

deps-system:
	hack/install-deps.sh apt
	hack/install-deps.sh binfmt

# The tools the tests use: buildx (the benchmarks' peer, the demo's
# independent SBOM reader) is left to make deps.
deps-tools:
	hack/install-deps.sh tools buildkitd buildctl cue cosign

vet-main:
	$(GO) vet ./...

# The scanner's packages are compiled as hack/scanner.sh builds the binary
# (CGO_ENABLED=0 -trimpath), so vet and test reuse that build's cache: after
# it, not beside it (two go commands compiling the same packages at once
# both compile them).
vet-scanner: scanner
	cd scanner && CGO_ENABLED=0 $(GO) vet -trimpath ./... && CGO_ENABLED=0 $(GO) test -trimpath ./...

# Unit tests only: no daemons.
test-short:
	$(GO) test -short ./...
	cd scanner && CGO_ENABLED=0 $(GO) test -trimpath -short ./...

# Build and publish the example library to a registry on localhost:$(REGISTRY_PORT).
# Only what the demo needs (cosign, buildx, cue: make deps; the demo's
# cosign and buildx checks run when bin/cosign and bin/docker-buildx
# exist), the Debian packages and the rootfs made while Go compiles.
demo: disk-demo deps-certs
	$(MAKE) -j3 --output-sync=target deps-system demo-go demo-rootfs
	hack/demo.sh

# What make demo needs free: its clone was 7.3 GiB after a cold run (the
# registry, the BuildKit daemon's cache, the Debian rootfs, bin/), and the Go
# caches 4 GiB each when empty (check-disk.sh --go). Checked before anything
# is built.
DEMO_DISK_GIB ?= 8
disk-demo:
	hack/check-disk.sh --go $(DEMO_DISK_GIB) "make demo" $(OUT)

# The demo's Go binaries, one go build after the other: two go commands
# compiling the same packages at once both compile them, while one after
# the other the second finds in GOCACHE what the first compiled (imgctl,
# buildkitd, buildctl and the scanner share the standard library, grpc,
# protobuf, otel, containerd, …). Each go build keeps both cores busy.
demo-go:
	$(MAKE) -j1 build demo-tools scanner

# The Debian rootfs of the demo's base (hack/base/), made while the Go
# tools compile: debootstrap downloads, and arm64's second stage runs
# under QEMU. Nothing when they exist (hack/rootfs.sh).
demo-rootfs: deps-system
	hack/rootfs.sh debian-amd64 $(OUT)/rootfs/debian-amd64.tar & a=$$!; \
	hack/rootfs.sh debian-arm64 $(OUT)/rootfs/debian-arm64.tar; b=$$?; wait $$a && exit $$b

demo-tools:
	hack/install-deps.sh tools buildkitd buildctl

# Stop the demo's registry and BuildKit daemon (their data stays in
# _output/), and the tests' daemon if a make test was interrupted.
stop:
	-hack/buildkitd.sh stop $(OUT)/buildkitd
	-hack/buildkitd.sh stop $(TEST_BUILDKITD)
	-hack/registry.sh stop $(OUT)/registry $(REGISTRY_PORT)

bench: bench-validate bench-plan bench-publish

bench-validate: deps build
	bench/validate.sh

bench-plan: deps build
	bench/plan.sh

bench-publish: deps build scanner
	bench/publish.sh

bench-pool: deps scanner
	bench/pool.sh

# The spec loader and the planner (Compute over arbitrary snapshots), 60 s each.
fuzz:
	$(GO) test -run=XXX -fuzz=FuzzLoad -fuzztime=60s ./pkg/spec/
	$(GO) test -run=XXX -fuzz=FuzzCompute -fuzztime=60s ./pkg/plan/

fmt:
	gofmt -w cmd internal pkg schemas scanner

vet:
	$(GO) vet ./...
	cd scanner && CGO_ENABLED=0 $(GO) vet -trimpath ./...

clean: stop
	rm -rf $(BIN) $(OUT)

# Keep the schema copy that lets plain `cue vet` work in images/ in sync.
schema-sync:
	cp schemas/imgctl.cue images/cue.mod/pkg/imgctl.dev/schema/imgctl.cue
