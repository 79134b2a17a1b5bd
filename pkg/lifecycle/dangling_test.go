package lifecycle

import (
	"context"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A fallback index that outlived its marker (a prune deleted the marker
// and was interrupted before the index) reads as no marker, not an error.
func TestReadSkipsDanglingFallbackEntries(t *testing.T) {
	ctx := context.Background()
	e := startGGCR(t, false)
	repo := e.repo(t, "d/img")
	subject := pushImage(t, repo, "v1")
	m := Marker{Subject: subject, EndOfLife: "2026-12-31", Date: "2026-12-01", Reason: "superseded by v2"}
	_, err := NewWriter().Mark(ctx, repo, m)
	require.NoError(t, err)
	got, err := Read(ctx, repo, subject.Digest)
	require.NoError(t, err)
	require.Len(t, got, 1)

	require.NoError(t, remote.Delete(repo.Digest(got[0].Digest.String())))
	got, err = Read(ctx, repo, subject.Digest)
	require.NoError(t, err)
	assert.Empty(t, got)
}
