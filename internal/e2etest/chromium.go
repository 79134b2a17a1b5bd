package e2etest

import (
	"context"
	"testing"

	"github.com/imgctl/imgctl/internal/browser"
)

// Browser starts a headless Chromium (Debian package chromium) with a fresh
// profile and a width×height window, stopped when t ends; a missing
// Chromium skips t, or fails it with IMGCTL_E2E set.
func Browser(t testing.TB, width, height int) *browser.Browser {
	t.Helper()
	exe, err := browser.ExecPath()
	if err != nil {
		missing(t, err.Error())
	}
	b, err := browser.Start(context.Background(), exe, t.TempDir(), width, height)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}
