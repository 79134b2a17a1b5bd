// Command seed makes a registry look as if a spec library had been
// published and nothing changed since, without building anything.
//
//	seed -version 2026.11.01 -previous 2026.10.01 DIR
//
// With -upstream REPO instead of DIR, it pushes the stand-in for the
// library's external base as REPO:12 and prints its reference by digest,
// for genlib -root-from.
//
//	seed -upstream 127.0.0.1:5000/upstream/debian
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/imgctl/imgctl/bench/internal/seed"
	"github.com/imgctl/imgctl/pkg/regclient"
	"github.com/imgctl/imgctl/pkg/spec"
)

func main() {
	var o seed.Options
	flag.StringVar(&o.Version, "version", "2026.11.01", "dated version every image is published as")
	flag.StringVar(&o.Previous, "previous", "", "older, superseded version to publish first (\"\": none)")
	flag.IntVar(&o.Jobs, "jobs", 16, "concurrent pushes")
	upstream := flag.String("upstream", "", "push the external base stand-in as REPO:12 and print its REPO@DIGEST, instead of seeding DIR")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *upstream != "" && flag.NArg() == 0 {
		ref, err := seed.Upstream(ctx, regclient.New(), *upstream)
		if err != nil {
			fmt.Fprintln(os.Stderr, "seed:", err)
			os.Exit(1)
		}
		fmt.Println(ref)
		return
	}
	if flag.NArg() != 1 || *upstream != "" {
		fmt.Fprintln(os.Stderr, "usage: seed [-version V] [-previous V] [-jobs N] DIR | seed -upstream REPO")
		os.Exit(2)
	}
	if err := run(ctx, flag.Arg(0), o); err != nil {
		fmt.Fprintln(os.Stderr, "seed:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, dir string, o seed.Options) error {
	start := time.Now()
	lib, err := spec.Load(dir)
	if err != nil {
		return err
	}
	var cnt regclient.Counter
	res, err := seed.Seed(ctx, lib, regclient.New(regclient.WithCounter(&cnt)), o)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "seed: %d images, %d manifests, %d tags in %s with %d requests to %s\n",
		res.Images, res.Manifests, res.Tags, time.Since(start).Round(time.Millisecond), cnt.Requests(), lib.Registry)
	return nil
}
