package catalog_test

import (
	"os"
	"testing"

	"github.com/imgctl/imgctl/pkg/catalog"
	"github.com/stretchr/testify/require"
)

func TestScratchSite(t *testing.T) {
	out := os.Getenv("SCRATCH_SITE")
	if out == "" {
		t.Skip()
	}
	s := newState(t)
	require.NoError(t, catalog.WriteSite(out, s.catalog(4), catalog.SiteOptions{}))
}
