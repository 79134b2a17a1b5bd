// Package build turns one image spec into BuildKit LLB and a full OCI image
// config, solves it on a BuildKit daemon and pushes the result to a
// registry by digest.
//
// The build of an image is a fixed sequence of steps derived from its spec:
// the rootfs tar unpacked at "/", apt, pip, R, the files, then each run
// command. Every step is one layer and one history entry; config
// changes (env, workdir, user, ports, labels, entrypoint, cmd) are empty-layer
// history entries. [Definition] (LLB and config), [Dockerfile] (a rendering
// for people) and the history all come from that one sequence, so they cannot
// disagree.
//
// Install and run steps run as root ("0:0") in the image's working directory
// (or "/") with the image's environment, PATH defaulting to the standard one;
// the spec's user only goes into the image config. Images are reproducible:
// history entries and "created" carry the Unix epoch, layer timestamps are
// clamped to it (BuildKit's rewrite-timestamp), and the same input gives the
// same digest on another day, built fresh or restored from the registry cache.
//
// This package must not tag, plan, or read specs from disk: the only files it
// reads are the rootfs and files an image copies, which it re-hashes before
// solving and refuses if they changed since the spec was loaded. Secrets
// (private index credentials) reach a build only as BuildKit secrets: never
// in the LLB, a layer, the image config, or a log line it writes. It must
// not import cuelang.org/go.
package build
