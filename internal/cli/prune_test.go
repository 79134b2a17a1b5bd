package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A bad --in-use file is an error naming the file (and line) before the
// registry is read; --detailed-exitcode describes a plan, not --apply.
func TestPruneArguments(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "lib.cue"), []byte("package lib\n\nregistry: \"127.0.0.1:1/x\"\npolicy: retention: keepNewest: 3\nimages: a: {from: \"scratch\", rootfs: \"r.tar\"}\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "r.tar"), nil, 0o644))
	bad := filepath.Join(dir, "in-use.txt")
	require.NoError(t, os.WriteFile(bad, []byte("127.0.0.1:1/x/a:2026.01.01\nnot an image\n"), 0o644))
	missing := filepath.Join(dir, "nope.json")

	for _, c := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"prune", dir, "--in-use", bad}, ExitError, "imgctl: reading --in-use " + bad + ":2: \"not an image\" is neither a digest (sha256:…) nor an image reference (HOST/REPO:TAG, HOST/REPO@sha256:…)\n"},
		{[]string{"prune", dir, "--in-use", missing}, ExitError, "imgctl: reading --in-use " + missing + ": open " + missing + ": no such file or directory\n"},
		{[]string{"prune", dir, "--apply", "--detailed-exitcode"}, ExitUsage, "imgctl: --detailed-exitcode reports a plan: not with --apply\nRun 'imgctl --help' for usage.\n"},
		{[]string{"prune", dir, "--date", "2026-13-01"}, ExitUsage, "imgctl: --date \"2026-13-01\": want YYYY-MM-DD\nRun 'imgctl --help' for usage.\n"},
	} {
		var out, errOut bytes.Buffer
		code := Run(context.Background(), c.args, &out, &errOut)
		assert.Equal(t, c.code, code, "%v", c.args)
		assert.Equal(t, c.stderr, errOut.String(), "%v", c.args)
		assert.Empty(t, out.String(), "%v", c.args)
	}
}
