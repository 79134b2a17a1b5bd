// Package inventory reads what is inside a published version from the
// registry alone: per platform, its manifest digest, compressed size (the
// bytes a pull downloads: config and layers), image configuration (env,
// cmd, entrypoint, user, workdir, ports, labels) and the packages its SBOM
// attestation lists, each with its ecosystem (deb, python, R, other) taken
// from the package URL. It also orders versions within an ecosystem
// (Debian, PEP 440, R, else semantic) for the changelog.
//
// It only reads: it must not write to a registry, build, or compare
// versions of images (see pkg/changelog); it knows nothing of specs or
// plans.
package inventory
