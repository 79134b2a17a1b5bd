package cli

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestCatalogUsage: what catalog refuses before reading anything, with the
// usage exit code and a message naming the flag.
func TestCatalogUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"catalog", "images"}, "imgctl: --out SITE_DIR is required\n"},
		{[]string{"catalog", "--out", "-"}, "imgctl: --out - (stdout) needs --json\n"},
		{[]string{"catalog", "--out", "x", "--spec-url", "file:///etc/{file}"}, `imgctl: --spec-url: want an http(s) URL template with {file}, {line}, {column}, got "file:///etc/{file}"` + "\n"},
		{[]string{"catalog", "--out", "x", "--jobs", "0"}, "imgctl: --jobs must be at least 1\n"},
		{[]string{"catalog", "a", "b", "--out", "x"}, "imgctl: too many arguments: [\"b\"]\n"},
	} {
		e := &e2e{t: t}
		code, stdout, stderr := e.run(tc.args...)
		assert.Equal(t, ExitUsage, code, "%v", tc.args)
		assert.Empty(t, stdout)
		assert.Equal(t, tc.want+"Run 'imgctl --help' for usage.\n", stderr, "%v", tc.args)
	}
}
