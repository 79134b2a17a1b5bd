// Command listget is the registry peer of `imgctl plan` for an unchanged
// library: for every image it lists the repository's tags, fetches the
// newest dated version's manifest and resolves (HEAD) each moving tag that
// exists (latest and the tags the image declares), with
// go-containerregistry directly, and prints one line of key=value pairs.
// It evaluates no CUE: the image names are the file names of a library
// written by genlib (one NAME.cue per image besides library.cue), the
// moving tags the one line genlib writes the tags field as.
//
//	listget -registry 127.0.0.1:5000/bench DIR
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/imgctl/imgctl/bench/internal/genlib"
	"github.com/imgctl/imgctl/bench/internal/planbench"
)

func main() {
	registry := flag.String("registry", "", "registry of the library, HOST:PORT/PREFIX")
	jobs := flag.Int("jobs", 8, "concurrent repositories")
	flag.Parse()
	if flag.NArg() != 1 || *registry == "" {
		fmt.Fprintln(os.Stderr, "usage: listget -registry HOST:PORT/PREFIX [-jobs N] DIR")
		os.Exit(2)
	}
	files, err := filepath.Glob(filepath.Join(flag.Arg(0), "*.cue"))
	if err != nil || len(files) == 0 {
		fmt.Fprintln(os.Stderr, "listget: no .cue files in", flag.Arg(0))
		os.Exit(1)
	}
	var repos []planbench.Repo
	for _, f := range files {
		n := strings.TrimSuffix(filepath.Base(f), ".cue")
		if n == "library" {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			fmt.Fprintln(os.Stderr, "listget:", err)
			os.Exit(1)
		}
		moving, err := genlib.MovingTags(src)
		if err != nil {
			fmt.Fprintf(os.Stderr, "listget: %s: %v\n", f, err)
			os.Exit(1)
		}
		repos = append(repos, planbench.Repo{Name: *registry + "/" + n, Moving: moving})
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	r, err := planbench.ListGet(ctx, repos, *jobs)
	if err != nil {
		fmt.Fprintln(os.Stderr, "listget:", err)
		os.Exit(1)
	}
	fmt.Printf("repos=%d requests=%d per_image=%.4f heads=%d elapsed_s=%.3f\n", r.Repos, r.Requests, float64(r.Requests)/float64(r.Repos), r.Heads, r.Elapsed.Seconds())
}
