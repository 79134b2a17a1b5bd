package published_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/pkg/published"
)

func TestParseUpstreamMirrorRepository(t *testing.T) {
	for _, tc := range []struct{ ref, full, mirror string }{
		{"debian:bookworm", "docker.io/library/debian:bookworm", "m.example/mirror/library/debian"},
		{"docker.io/library/debian:bookworm", "docker.io/library/debian:bookworm", "m.example/mirror/library/debian"},
		{"index.docker.io/library/debian", "docker.io/library/debian:latest", "m.example/mirror/library/debian"},
		{"jupyter/base-notebook", "docker.io/jupyter/base-notebook:latest", "m.example/mirror/jupyter/base-notebook"},
		{"nvcr.io/nvidia/cuda:12.4.1-base-ubuntu22.04", "nvcr.io/nvidia/cuda:12.4.1-base-ubuntu22.04", "m.example/mirror/nvidia/cuda"},
		{"localhost:5000/upstream/library/debian:bookworm", "localhost:5000/upstream/library/debian:bookworm", "m.example/mirror/upstream/library/debian"},
		{"127.0.0.1:5000/x@sha256:" + hex64, "127.0.0.1:5000/x@sha256:" + hex64, "m.example/mirror/x"},
		{"localhost/x:1@sha256:" + hex64, "localhost/x:1@sha256:" + hex64, "m.example/mirror/x"},
	} {
		u, err := published.ParseUpstream(tc.ref)
		require.NoError(t, err, tc.ref)
		assert.Equal(t, tc.full, u.String(), tc.ref)
		assert.Equal(t, tc.mirror, u.MirrorRepository("m.example/mirror"), tc.ref)
	}
	for _, bad := range []string{"host.example/", "x@latest"} {
		_, err := published.ParseUpstream(bad)
		assert.Error(t, err, bad)
	}
}

const hex64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestBaseOfPrefersTheMirrorCopy(t *testing.T) {
	d := "sha256:" + hex64
	ann := map[string]string{
		published.AnnotationBaseName:   "docker.io/library/debian:bookworm",
		published.AnnotationBaseDigest: d,
		published.AnnotationBaseMirror: "m.example/mirror/library/debian@" + d,
	}
	ref, rootfs, err := published.BaseOf(ann)
	require.NoError(t, err)
	assert.False(t, rootfs)
	assert.Equal(t, "m.example/mirror/library/debian@"+d, ref)
	ann[published.AnnotationBaseMirror] = "m.example/mirror/library/debian@sha256:other"
	ref, _, err = published.BaseOf(ann)
	require.NoError(t, err)
	assert.Equal(t, "docker.io/library/debian@"+d, ref, "a copy of another digest is not this base")
}
