// Command statusreqs counts the registry HTTP requests `imgctl status` and
// `imgctl catalog` make per image of a published library.
//
// It writes a library of -n images with genlib, seeds it (bench/internal/seed:
// every image published as -version, and superseded -previous versions,
// as publish leaves them) into go-containerregistry's in-process registry,
// then runs what each command runs — status.Collect, and catalog.Observe with
// the registry contents reader — through a client counting every request,
// with -jobs requests in flight at most, and prints one key=value line per
// command: requests, requests per image, the platforms seeded per image, and
// the budget the issue sets (3 per image plus one per platform).
//
//	statusreqs -n 1000 [-jobs 8] [-referrers]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/imgctl/imgctl/bench/internal/genlib"
	"github.com/imgctl/imgctl/bench/internal/seed"
	"github.com/imgctl/imgctl/pkg/catalog"
	"github.com/imgctl/imgctl/pkg/readmodel"
	"github.com/imgctl/imgctl/pkg/regclient"
	"github.com/imgctl/imgctl/pkg/spec"
	"github.com/imgctl/imgctl/pkg/status"
)

func main() {
	n := flag.Int("n", 1000, "images in the library")
	jobs := flag.Int("jobs", 8, "requests in flight at most (imgctl's --jobs default)")
	version := flag.String("version", "2026.12.01", "the version every image is published as")
	previous := flag.String("previous", "2026.11.01", "an older, superseded version of every image (\"\": none)")
	referrers := flag.Bool("referrers", false, "the registry has the referrers API")
	flag.Parse()
	if err := run(*n, *jobs, *version, *previous, *referrers); err != nil {
		fmt.Fprintln(os.Stderr, "statusreqs:", err)
		os.Exit(1)
	}
}

func run(n, jobs int, version, previous string, referrers bool) error {
	ctx := context.Background()
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)), registry.WithReferrersSupport(referrers))
	var kinds sync.Map // "METHOD kind" -> *atomic.Int64, while counting
	var counting atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if counting.Load() {
			k := r.Method + " " + kindOf(r.URL.Path)
			v, _ := kinds.LoadOrStore(k, new(atomic.Int64))
			v.(*atomic.Int64).Add(1)
			if os.Getenv("STATUSREQS_LOG") != "" && strings.Contains(r.URL.Path, os.Getenv("STATUSREQS_LOG")) {
				fmt.Fprintln(os.Stderr, r.Method, r.URL.Path)
			}
		}
		reg.ServeHTTP(w, r)
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	dir, err := os.MkdirTemp("", "statusreqs")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := genlib.Write(dir, genlib.Options{Images: n, Registry: addr + "/bench", Seed: 1, ImportSchema: true}); err != nil {
		return err
	}
	lib, err := spec.Load(dir)
	if err != nil {
		return err
	}
	c := regclient.New()
	if _, err := seed.Seed(ctx, lib, c, seed.Options{Version: version, Previous: previous}); err != nil {
		return err
	}
	platforms := 0
	for _, im := range lib.Images {
		platforms += len(im.Platforms)
	}
	for _, cmd := range []string{"status", "catalog"} {
		var cnt regclient.Counter
		cc := regclient.New(regclient.WithCounter(&cnt), regclient.WithMaxInFlight(jobs), regclient.WithManifestCache()) // as the CLI's read-only commands
		kinds.Clear()
		counting.Store(true)
		t0 := time.Now()
		switch cmd {
		case "status":
			_, err = status.Collect(ctx, lib, readmodel.Remote{C: cc}, status.Options{Jobs: jobs})
		case "catalog":
			_, err = catalog.Observe(ctx, lib, readmodel.Remote{C: cc}, catalog.RegistryContents{C: cc}, catalog.Options{Jobs: jobs})
		}
		counting.Store(false)
		if err != nil {
			return fmt.Errorf("%s: %w", cmd, err)
		}
		req := cnt.Requests()
		var by []string
		kinds.Range(func(k, v any) bool {
			by = append(by, fmt.Sprintf("%s=%d", strings.ReplaceAll(k.(string), " ", "_"), v.(*atomic.Int64).Load()))
			return true
		})
		sort.Strings(by)
		budget := 3*len(lib.Images) + platforms
		fmt.Printf("command=%s images=%d platforms=%d requests=%d per_image=%.3f budget=%d within=%t jobs=%d wall_s=%.3f %s\n",
			cmd, len(lib.Images), platforms, req, float64(req)/float64(len(lib.Images)), budget, req <= int64(budget), jobs, time.Since(t0).Seconds(), strings.Join(by, " "))
	}
	return nil
}

// kindOf names what a registry API path reads: tags/list, a manifest by
// tag or by digest, a blob, referrers, or the /v2/ ping.
func kindOf(path string) string {
	switch {
	case strings.HasSuffix(path, "/tags/list"):
		return "tags"
	case strings.Contains(path, "/referrers/"):
		return "referrers"
	case strings.Contains(path, "/blobs/"):
		return "blob"
	case strings.Contains(path, "/manifests/sha256:"):
		return "manifest-by-digest"
	case strings.Contains(path, "/manifests/"):
		return "manifest-by-tag"
	}
	return "other"
}
