// Command planreqs runs what `imgctl plan DIR` runs (spec.Load, plan.Observe,
// plan.Compute) with a client that counts every registry HTTP request, and
// prints one line of key=value pairs: requests, requests per image, reads by
// kind (moving: resolves of moving tags; resolve: every other), the moving
// tags that exist, the read budget (2 per image plus one per moving tag),
// plan summary and phase times.
//
//	planreqs -date 2026-11-24 [-cpuprofile FILE] DIR
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"

	"github.com/imgctl/imgctl/bench/internal/planbench"
)

func main() {
	var o planbench.Options
	flag.StringVar(&o.Date, "date", "2026-11-24", "plan date YYYY-MM-DD")
	flag.IntVar(&o.Jobs, "jobs", 8, "concurrent registry reads (imgctl's --jobs default is 8)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: planreqs [-date YYYY-MM-DD] [-jobs N] [-cpuprofile FILE] DIR")
		os.Exit(2)
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "planreqs:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	r, err := planbench.Plan(ctx, flag.Arg(0), o)
	if err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "planreqs:", err)
		os.Exit(1)
	}
	s := r.Summary
	fmt.Printf("images=%d requests=%d per_image=%.4f list_tags=%d manifest=%d moving=%d resolve=%d marked=%d bases=%d moving_tags=%d reads=%d budget=%d pins=%d distinct_pins=%d build=%d unchanged=%d tags=%d deprecate=%d load_s=%.3f observe_s=%.3f compute_s=%.3f\n",
		r.Images, r.Requests, r.PerImage(), r.ListTags, r.Manifest, r.Moving, r.Resolve, r.Marked, r.Bases, r.MovingTags, r.Reads(), r.Budget(),
		r.Pins, r.DistinctPins, s.Build, s.Unchanged, s.Tags, s.Deprecate, r.Load.Seconds(), r.Observe.Seconds(), r.Compute.Seconds())
}
