// Package inventorytest pushes image indexes shaped as BuildKit publishes
// them — one image manifest per platform, each with an attestation
// manifest carrying an SPDX SBOM statement about it — to a registry, for
// tests of code that reads what is inside a version (inventory, changelog,
// status, catalog). It builds them with go-containerregistry; nothing in
// it talks to BuildKit.
package inventorytest
