package published

import (
	"fmt"
	"strings"
)

// AnnotationBaseMirror records, on a version built from a mirrored
// external base (policy.mirror), the copy it was built FROM:
// "HOST[:PORT]/PREFIX/<path>@sha256:…". AnnotationBaseName keeps the
// upstream reference and AnnotationBaseDigest the digest (the same for
// both: the copy is made by digest).
const AnnotationBaseMirror = "io.imgctl.base.mirror"

// DockerHub is the registry a reference without a host names, as
// Docker's reference grammar reads it.
const DockerHub = "docker.io"

// Upstream is an external base reference split the way Docker reads it.
type Upstream struct {
	// Host is the registry ("docker.io" when the reference names none).
	Host string
	// Path is the repository path without the host ("library/debian").
	Path string
	// Tag is the tag, "" when the reference has none.
	Tag string
	// Digest is the digest, "" when the reference has none.
	Digest string
}

// ParseUpstream splits an image reference (host[:port]/path[:tag][@digest],
// or Docker Hub's short forms "debian:12", "user/image") into its parts.
// A reference with neither tag nor digest means tag "latest". It checks
// the shape only; the registry client parses strictly.
func ParseUpstream(ref string) (Upstream, error) {
	var u Upstream
	rest := ref
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		rest, u.Digest = rest[:at], rest[at+1:]
		if !strings.HasPrefix(u.Digest, "sha256:") && !strings.HasPrefix(u.Digest, "sha512:") {
			return Upstream{}, fmt.Errorf("reference %q: digest %q is not algorithm:hex", ref, u.Digest)
		}
	}
	if slash, colon := strings.LastIndex(rest, "/"), strings.LastIndex(rest, ":"); colon > slash {
		rest, u.Tag = rest[:colon], rest[colon+1:]
	}
	if u.Tag == "" && u.Digest == "" {
		u.Tag = Latest
	}
	host, path, ok := strings.Cut(rest, "/")
	if !ok || !strings.ContainsAny(host, ".:") && host != "localhost" {
		host, path = DockerHub, rest
	}
	if host == "index.docker.io" {
		host = DockerHub
	}
	if host == DockerHub && !strings.Contains(path, "/") {
		path = "library/" + path
	}
	if path == "" || strings.HasPrefix(path, "/") || strings.HasSuffix(path, "/") {
		return Upstream{}, fmt.Errorf("reference %q has no repository path", ref)
	}
	u.Host, u.Path = host, path
	return u, nil
}

// Repository is the upstream repository, host included.
func (u Upstream) Repository() string { return u.Host + "/" + u.Path }

// String is the reference in full: host, path, and tag or digest.
func (u Upstream) String() string {
	s := u.Repository()
	if u.Tag != "" {
		s += ":" + u.Tag
	}
	if u.Digest != "" {
		s += "@" + u.Digest
	}
	return s
}

// MirrorRepository is where the mirror (HOST[:PORT]/PREFIX) keeps the
// copies of u: PREFIX/<upstream repository path>, the path without its
// host (docker.io/library/debian → PREFIX/library/debian).
func (u Upstream) MirrorRepository(mirror string) string {
	return strings.TrimSuffix(mirror, "/") + "/" + u.Path
}

// MirrorGoneWarning is the warning of a base built from the mirror
// because upstream could not be read (unreachable, or the tag gone):
// "upstream docker.io/library/debian:bookworm is gone; building from
// mirror …@sha256:…". Plan, publish and the mirror command say it alike.
func MirrorGoneWarning(upstream, mirrorRef string) string {
	return fmt.Sprintf("upstream %s is gone; building from mirror %s", upstream, mirrorRef)
}
