package browser

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// EnvExec names an environment variable that, when set, is the Chromium
// (or Chrome) executable to use.
const EnvExec = "IMGCTL_CHROMIUM"

// ErrNotFound is returned by ExecPath when no Chromium is installed.
var ErrNotFound = errors.New("chromium not found (Debian package chromium; or set " + EnvExec + ")")

// ExecPath returns the Chromium executable: $IMGCTL_CHROMIUM, else
// /usr/bin/chromium (Debian's package), else chromium, chromium-browser or
// google-chrome in PATH.
func ExecPath() (string, error) {
	if p := os.Getenv(EnvExec); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", EnvExec, p, err)
		}
		return p, nil
	}
	if st, err := os.Stat("/usr/bin/chromium"); err == nil && !st.IsDir() {
		return "/usr/bin/chromium", nil
	}
	for _, n := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", ErrNotFound
}

// Flags are the command-line flags Chromium runs with: headless, and no
// background connections (which this machine's closed network refuses).
var Flags = []string{
	"headless", "no-sandbox", "disable-gpu", "disable-quic", "no-first-run",
	"disable-background-networking", "disable-component-update", "disable-sync",
	"disable-default-apps", "disable-extensions", "disable-dev-shm-usage",
	"no-default-browser-check", "mute-audio", "hide-scrollbars",
}

// Browser is a running headless Chromium with one tab.
type Browser struct {
	// Ctx is the tab's chromedp context: pass it to chromedp.Run and Do.
	Ctx    context.Context
	cancel []context.CancelFunc

	mu       sync.Mutex
	problems []string
}

// Start starts Chromium at execPath with a fresh profile in userDataDir and
// a width×height window, and begins recording console problems. Close it.
func Start(ctx context.Context, execPath, userDataDir string, width, height int) (*Browser, error) {
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(execPath),
		chromedp.UserDataDir(userDataDir),
		chromedp.WindowSize(width, height),
	}
	for _, f := range Flags {
		opts = append(opts, chromedp.Flag(f, true))
	}
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	tctx, tcancel := chromedp.NewContext(actx)
	b := &Browser{Ctx: tctx, cancel: []context.CancelFunc{tcancel, acancel}}
	if err := chromedp.Listen(tctx, b.record); err != nil {
		b.Close()
		return nil, fmt.Errorf("starting %s: %w", execPath, err)
	}
	return b, nil
}

// record keeps what the console reports as an error. It runs in chromedp's
// event loop: it only appends.
func (b *Browser) record(ev any) {
	var p string
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError && ev.Type != runtime.ConsoleAPICalledTypeAssert {
			return
		}
		var args []string
		for _, a := range ev.Args {
			if a.Value != nil {
				args = append(args, string(a.Value))
			} else {
				args = append(args, a.Description)
			}
		}
		p = "console." + string(ev.Type) + ": " + strings.Join(args, " ")
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		p = fmt.Sprintf("exception: %s", d.Text)
		if d.Exception != nil {
			p += " " + d.Exception.Description
		}
		p += fmt.Sprintf(" at %s:%d:%d", d.URL, d.LineNumber+1, d.ColumnNumber+1)
	case *log.EventEntryAdded:
		if ev.Entry.Level != log.EntryLevelError {
			return
		}
		p = fmt.Sprintf("log (%s): %s %s", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL)
	default:
		return
	}
	b.mu.Lock()
	b.problems = append(b.problems, p)
	b.mu.Unlock()
}

// Problems returns the console errors, uncaught exceptions and browser log
// errors seen so far, and forgets them.
func (b *Browser) Problems() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.problems
	b.problems = nil
	return p
}

// Open navigates to url and waits for the page's load event.
func (b *Browser) Open(url string) error {
	if err := chromedp.Do(b.Ctx, chromedp.Navigate(url)); err != nil {
		return fmt.Errorf("opening %s: %w", url, err)
	}
	return nil
}

// Screenshot writes a PNG of the whole page to path.
func (b *Browser) Screenshot(path string) error {
	png, err := chromedp.Run(b.Ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return fmt.Errorf("taking a screenshot: %w", err)
	}
	return os.WriteFile(path, png, 0o644)
}

// Close stops the browser.
func (b *Browser) Close() {
	for _, c := range b.cancel {
		c()
	}
}
