// Command catalogshot screenshots pages of a catalog written by imgctl
// catalog, in headless Chromium, from file:// as a user opens it:
//
//	go run ./hack/catalogshot [-width 1280] [-height 900] SITE_DIR PAGE OUT.png [PAGE OUT.png…]
//
// PAGE is relative to SITE_DIR (index.html, images/NAME.html). It fails
// when a page writes an error to the browser console. make demo and the
// README's docs/catalog.png use it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/imgctl/imgctl/internal/browser"
)

func main() {
	width := flag.Int("width", 1280, "window width in CSS pixels")
	height := flag.Int("height", 900, "window height in CSS pixels")
	flag.Parse()
	if err := run(*width, *height, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "catalogshot:", err)
		os.Exit(1)
	}
}

func run(width, height int, args []string) error {
	if len(args) < 3 || len(args)%2 != 1 {
		return fmt.Errorf("usage: catalogshot SITE_DIR PAGE OUT.png [PAGE OUT.png…]")
	}
	site, err := filepath.Abs(args[0])
	if err != nil {
		return err
	}
	exe, err := browser.ExecPath()
	if err != nil {
		return err
	}
	profile, err := os.MkdirTemp("", "catalogshot-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(profile)
	b, err := browser.Start(context.Background(), exe, profile, width, height)
	if err != nil {
		return err
	}
	defer b.Close()
	for i := 1; i < len(args); i += 2 {
		url := "file://" + filepath.ToSlash(filepath.Join(site, args[i]))
		if err := b.Open(url); err != nil {
			return err
		}
		if p := b.Problems(); len(p) > 0 {
			return fmt.Errorf("%s: console errors: %q", url, p)
		}
		if err := b.Screenshot(args[i+1]); err != nil {
			return err
		}
		fmt.Println(args[i+1])
	}
	return nil
}
