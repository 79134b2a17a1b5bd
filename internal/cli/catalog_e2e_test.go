package cli

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/internal/browser"
	"github.com/imgctl/imgctl/internal/e2etest"
)

// catalogLib is the library the catalog's browser test publishes: app gets
// three versions, legacy is retired in favour of app, pinned is pinned to
// app's first version.
const catalogLib = `package lib

registry: "REGISTRY/e2e"
images: base: {
	from:        "scratch"
	rootfs:      "busybox.tar"
	env: PATH:   "/bin"
	cmd: ["sh"]
	family:      "minimal"
	description: "A busybox base for the catalog test"
}
images: app: {
	parent:      "base"
	family:      "minimal"
	team:        "analytics"
	description: "The analytics environment"
	run: ["echo app v1 > /app.txt"]
}
images: legacy: {
	parent: "base"
	team:   "analytics"
	run: ["echo legacy > /legacy.txt"]
}
`

// TestCatalogBrowser publishes with BuildKit, writes the catalog, and
// checks it in headless Chromium, opened from file:// and from an HTTP
// server under a sub-path. Screenshots go to _output/catalog-test/.
func TestCatalogBrowser(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	e.src = catalogLib
	e.write()
	b := e2etest.Browser(t, 1280, 900)

	publish := func(date string) {
		t.Helper()
		_, stdout, stderr, code := e.publish(date)
		require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	}
	publish("2026-11-01")
	e.edit("echo app v1", "echo app v2")
	publish("2026-11-02")
	e.edit("echo app v2", "echo app v3")
	e.edit(`	run: ["echo legacy > /legacy.txt"]`, `	run: ["echo legacy > /legacy.txt"]
	deprecated: {reason: "merged into app", replacement: "app"}`)
	e.src += `images: pinned: {
	parent: "app@2026.11.01"
	team:   "risk"
	run: ["echo pinned > /pinned.txt"]
}
`
	e.write()
	publish("2026-11-03")

	catalogClock = func() time.Time { return time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC) }
	t.Cleanup(func() { catalogClock = time.Now })
	site := filepath.Join(t.TempDir(), "site")
	code, stdout, stderr := e.run("catalog", e.dir, "--out", site)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	index := filepath.Join(site, "index.html")
	assert.Equal(t, "file://"+index+"\n", stdout, "prints what to open")

	// catalog.json holds the same data.
	var cat struct {
		FormatVersion string `json:"format_version"`
		Generated     string
		Images        []struct {
			Name, Latest string
		}
	}
	raw, err := os.ReadFile(filepath.Join(site, "catalog.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &cat))
	assert.Equal(t, "1", cat.FormatVersion)
	assert.Equal(t, "2026-11-03T12:00:00Z", cat.Generated)

	// --json: catalog.json alone, into the same (previous catalog)
	// directory, or to stdout; a foreign directory is refused.
	code, stdout, stderr = e.run("catalog", e.dir, "--json", "--out", "-")
	require.Equal(t, 0, code, stderr)
	assert.JSONEq(t, string(raw), stdout)
	foreign := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(foreign, "README"), nil, 0o644))
	code, _, stderr = e.run("catalog", e.dir, "--out", foreign)
	assert.Equal(t, ExitUsage, code)
	assert.Contains(t, stderr, "did not write (README)")

	shots := filepath.Join(e2etest.RepoRoot(t), "_output", "catalog-test")
	require.NoError(t, os.MkdirAll(shots, 0o755))

	t.Run("file", func(t *testing.T) {
		checkCatalogHome(t, b, "file://"+index)
		crawlCatalog(t, b, "file://"+index, shots)
		narrow(t, b, "file://"+index, filepath.Join(shots, "index-narrow.png"))
		narrow(t, b, "file://"+filepath.Join(site, "images", "app.html"), filepath.Join(shots, "images-app-narrow.png"))
	})

	t.Run("http-subpath", func(t *testing.T) {
		var mu sync.Mutex
		var notFound []string
		files := http.StripPrefix("/teams/ds/catalog/", http.FileServer(http.Dir(site)))
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := &statusRecorder{ResponseWriter: w, code: 200}
			files.ServeHTTP(rec, r)
			if rec.code >= 400 {
				mu.Lock()
				notFound = append(notFound, r.URL.Path)
				mu.Unlock()
			}
		}))
		defer srv.Close()
		home := srv.URL + "/teams/ds/catalog/index.html"
		checkCatalogHome(t, b, home)
		crawlCatalog(t, b, home, "")
		// A click on a graph node opens the image's page, under the
		// sub-path.
		require.NoError(t, b.Open(home))
		_, err := chromedp.Run(b.Ctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(`svg.graph a.node[data-name="pinned"]`))))
		require.NoError(t, err)
		loc, err := chromedp.Run(b.Ctx, chromedp.Location())
		require.NoError(t, err)
		assert.Equal(t, srv.URL+"/teams/ds/catalog/images/pinned.html", loc)
		h1, err := chromedp.Run(b.Ctx, chromedp.Evaluate[string](`document.querySelector("h1").textContent`))
		require.NoError(t, err)
		assert.Equal(t, "pinned", strings.TrimSpace(h1))
		assert.Empty(t, b.Problems())
		mu.Lock()
		assert.Empty(t, notFound, "every request under the sub-path is served")
		mu.Unlock()
	})
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.code = code
	r.ResponseWriter.WriteHeader(code)
}

func eval[T any](t *testing.T, b *browser.Browser, js string) T {
	t.Helper()
	v, err := chromedp.Run(b.Ctx, chromedp.Evaluate[T](js))
	require.NoError(t, err, js)
	return v
}

// visibleCards lists the cards shown in the active grouping as
// "name=latest version".
const visibleCards = `Array.from(document.querySelectorAll(".grouping:not([hidden]) .card:not([hidden])")).map(c => c.dataset.name + "=" + ((c.querySelector(".latest-version") || {}).textContent || "-")).sort()`

func setSearch(t *testing.T, b *browser.Browser, q string) {
	t.Helper()
	eval[bool](t, b, `(() => { const s = document.getElementById("search"); s.value = ""; s.dispatchEvent(new Event("input")); return true })()`)
	if q != "" {
		require.NoError(t, chromedp.Do(b.Ctx, chromedp.SendKeys(chromedp.CSS("#search"), q)))
	}
}

// checkCatalogHome checks what the home page shows and that its controls
// work.
func checkCatalogHome(t *testing.T, b *browser.Browser, home string) {
	require.NoError(t, b.Open(home))
	assert.Equal(t, []string{"app=2026.11.03", "base=2026.11.01", "legacy=2026.11.01", "pinned=2026.11.03"}, eval[[]string](t, b, visibleCards))

	// The retired image names its replacement, with a link.
	assert.Equal(t, "app", eval[string](t, b, `document.querySelector('#by-family .card[data-name="legacy"] .note-retired .replacement').textContent`))
	assert.Contains(t, eval[string](t, b, `document.querySelector('#by-family .card[data-name="legacy"] .note-retired').textContent`), "End of life 2026-12-03")
	// app's two deprecated versions: the soonest end of life.
	assert.Contains(t, eval[string](t, b, `document.querySelector('#by-family .card[data-name="app"] .note-deprecated').textContent`), "2 deprecated older versions, end of life from 2026-12-02")

	// The search box filters by name, team, family and package (the
	// SBOMs list busybox in every image); nothing matched says so.
	for q, want := range map[string][]string{
		"pinn":      {"pinned=2026.11.03"},
		"analytics": {"app=2026.11.03", "legacy=2026.11.01"},
		"Minimal":   {"app=2026.11.03", "base=2026.11.01"},
		"risk pin":  {"pinned=2026.11.03"},
		"busybox":   {"app=2026.11.03", "base=2026.11.01", "legacy=2026.11.01", "pinned=2026.11.03"},
		"nothing":   {},
	} {
		setSearch(t, b, q)
		assert.Equal(t, want, eval[[]string](t, b, visibleCards), "search %q", q)
		assert.Equal(t, len(want) == 0, !eval[bool](t, b, `document.getElementById("no-match").hidden`), "search %q", q)
	}
	setSearch(t, b, "")

	// Grouping by team: the team sections, one image in each of its team.
	require.NoError(t, chromedp.Do(b.Ctx, chromedp.Click(chromedp.CSS(`input[name="group"][value="team"]`))))
	assert.True(t, eval[bool](t, b, `document.getElementById("by-family").hidden && !document.getElementById("by-team").hidden`))
	assert.Equal(t, []string{"analytics", "risk", "No team"}, eval[[]string](t, b, `Array.from(document.querySelectorAll("#by-team .group h3")).map(h => h.textContent)`))
	assert.Equal(t, []string{"app=2026.11.03", "base=2026.11.01", "legacy=2026.11.01", "pinned=2026.11.03"}, eval[[]string](t, b, visibleCards))
	require.NoError(t, chromedp.Do(b.Ctx, chromedp.Click(chromedp.CSS(`input[name="group"][value="family"]`))))

	// The graph: a node per image, linking to its page; the retired one
	// marked; the pinned edge labelled.
	assert.Equal(t, []string{"app images/app.html ", "base images/base.html ", "legacy images/legacy.html node-retired", "pinned images/pinned.html "},
		eval[[]string](t, b, `Array.from(document.querySelectorAll("svg.graph a.node")).map(a => a.dataset.name + " " + a.getAttribute("href") + " " + (a.classList.contains("node-retired") ? "node-retired" : "")).sort()`))
	assert.Equal(t, []string{"@2026.11.01"}, eval[[]string](t, b, `Array.from(document.querySelectorAll("svg.graph .edge-label")).map(t => t.textContent)`))

	// A copy button works from the keyboard and says so.
	require.NoError(t, chromedp.Do(b.Ctx, chromedp.Focus(chromedp.CSS(`#by-family .card[data-name="app"] button.copy`)), chromedp.KeyEvent("\r")))
	time.Sleep(200 * time.Millisecond)
	assert.Contains(t, []string{"Copied", "Press Ctrl+C"}, eval[string](t, b, `document.querySelector('#by-family .card[data-name="app"] button.copy').textContent`))

	assert.Empty(t, b.Problems(), "browser console of %s", home)
}

// crawlCatalog opens every page the home page leads to, checks that each
// link's target exists (pages and their #fragments), that the image pages
// show the versions' status, and that no page logs an error; with shots,
// it saves a screenshot of each page there.
func crawlCatalog(t *testing.T, b *browser.Browser, home, shots string) {
	base, err := url.Parse(home)
	require.NoError(t, err)
	root := base.ResolveReference(&url.URL{Path: "."})
	seen := map[string]bool{}
	queue := []string{home}
	fragments := map[string][]string{} // page -> ids linked to
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if seen[p] {
			continue
		}
		seen[p] = true
		require.NoError(t, b.Open(p))
		// SVG links too: their href is an SVGAnimatedString.
		links := eval[[]string](t, b, `Array.from(document.querySelectorAll("a[href]")).map(a => new URL(a.getAttribute("href"), document.baseURI).href)`)
		for _, l := range links {
			u, err := url.Parse(l)
			require.NoError(t, err)
			require.True(t, strings.HasPrefix(u.String(), root.String()), "%s links outside the site: %s", p, l)
			frag := u.Fragment
			u.Fragment = ""
			target := u.String()
			if frag != "" {
				fragments[target] = append(fragments[target], frag)
			}
			if strings.HasSuffix(target, ".html") {
				queue = append(queue, target)
			} else if u.Scheme == "file" {
				assert.FileExists(t, u.Path, "linked from %s", p)
			}
		}
		if shots != "" {
			rel := strings.TrimPrefix(p, root.String())
			require.NoError(t, b.Screenshot(filepath.Join(shots, strings.ReplaceAll(strings.TrimSuffix(rel, ".html"), "/", "-")+".png")))
		}
		assert.Empty(t, b.Problems(), "browser console of %s", p)
	}
	var pages []string
	for p := range seen {
		pages = append(pages, strings.TrimPrefix(p, root.String()))
	}
	sort.Strings(pages)
	assert.Equal(t, []string{"images/app.html", "images/base.html", "images/legacy.html", "images/pinned.html", "index.html"}, pages)
	for p, ids := range fragments {
		require.NoError(t, b.Open(p))
		for _, id := range ids {
			assert.True(t, eval[bool](t, b, `document.getElementById(`+jsString(id)+`) !== null`), "%s#%s", p, id)
		}
	}

	// app's page: three versions, newest first, with their status.
	require.NoError(t, b.Open(root.String()+"images/app.html"))
	assert.Equal(t, []string{
		"2026.11.03|latest",
		"2026.11.02|deprecated until 2026-12-03, superseded by 2026.11.03",
		"2026.11.01|deprecated until 2026-12-02, superseded by 2026.11.02",
	}, eval[[]string](t, b, `Array.from(document.querySelectorAll("table.versions tbody tr")).map(r => r.dataset.version + "|" + r.querySelector(".status").textContent.trim())`))
	assert.Equal(t, []string{"base@2026.11.01", "base@2026.11.01", "base@2026.11.01"}, eval[[]string](t, b, `Array.from(document.querySelectorAll("table.versions tbody tr td:nth-child(5)")).map(c => c.textContent.trim())`))
	// pinned's page: built on app's first version, pinned.
	require.NoError(t, b.Open(root.String()+"images/pinned.html"))
	assert.Equal(t, "app@2026.11.01", eval[string](t, b, `document.querySelector("table.versions tbody tr td:nth-child(5)").textContent.trim()`))
	assert.Contains(t, eval[string](t, b, `document.querySelector(".facts").textContent`), "pinned to version 2026.11.01")
	// legacy's page: retired, with the replacement.
	require.NoError(t, b.Open(root.String()+"images/legacy.html"))
	assert.Equal(t, "retired → app, until 2026-12-03", eval[string](t, b, `document.querySelector("table.versions tbody tr .status").textContent.trim()`))
	assert.Empty(t, b.Problems())
}

// narrow checks a page on a phone-sized screen: nothing wider than the
// screen but what scrolls on its own (the graph, tables, commands).
func narrow(t *testing.T, b *browser.Browser, page, shot string) {
	require.NoError(t, chromedp.Do(b.Ctx, chromedp.EmulateViewport(390, 844)))
	defer func() { require.NoError(t, chromedp.Do(b.Ctx, chromedp.EmulateReset())) }()
	require.NoError(t, b.Open(page))
	assert.LessOrEqual(t, eval[int](t, b, `document.documentElement.scrollWidth`), 390)
	require.NoError(t, b.Screenshot(shot))
	assert.Empty(t, b.Problems())
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
