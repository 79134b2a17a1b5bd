package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/internal/e2etest"
	"github.com/imgctl/imgctl/pkg/inventory/inventorytest"
	"github.com/imgctl/imgctl/pkg/published"
)

// TestJobsBoundsRequestsInFlight: status and catalog read tags, every
// version's index, its markers, sizes and SBOMs, concurrently and nested;
// whatever the nesting, --jobs is the most requests the registry sees at
// once. No daemon: an in-process registry that records its peak.
func TestJobsBoundsRequestsInFlight(t *testing.T) {
	addr, peak := e2etest.PeakRegistry(t)

	dir := t.TempDir()
	lib := fmt.Sprintf("package lib\nregistry: %q\n", addr+"/ds")
	for i := range 4 {
		n := fmt.Sprintf("img%d", i)
		lib += fmt.Sprintf("images: %s: {from: \"debian:12\"}\n", n)
		for _, v := range []string{"2026.11.01", "2026.11.24", "2026.12.07"} {
			inventorytest.Push(t, addr+"/ds/"+n+":"+v, inventorytest.Version{
				Platforms:   []inventorytest.Platform{{Platform: "linux/amd64", Packages: []inventorytest.Package{inventorytest.Deb("libc6", "2.36")}}, {Platform: "linux/arm64"}},
				Annotations: map[string]string{published.AnnotationContentKey: n + v},
			})
		}
		inventorytest.Push(t, addr+"/ds/"+n+":latest", inventorytest.Version{
			Platforms:   []inventorytest.Platform{{Platform: "linux/amd64"}},
			Annotations: map[string]string{published.AnnotationContentKey: n + "latest"},
		})
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "lib.cue"), []byte(lib), 0o644))

	for _, jobs := range []int{1, 3} {
		for _, args := range [][]string{
			{"status", dir},
			{"status", dir, "img0", "img1", "--packages"},
			{"catalog", dir, "--out", filepath.Join(t.TempDir(), "site")},
		} {
			peak.Store(0)
			var out, errOut bytes.Buffer
			code := Run(context.Background(), append(args, "--jobs", fmt.Sprint(jobs)), &out, &errOut)
			require.Equal(t, 0, code, "%s: %s\n%s", args[0], out.String(), errOut.String())
			assert.LessOrEqual(t, peak.Load(), int64(jobs), "%s --jobs %d: requests in flight at once", args[0], jobs)
			if jobs > 1 {
				assert.Greater(t, peak.Load(), int64(1), "%s --jobs %d: reads are concurrent", args[0], jobs)
			}
		}
	}
}
