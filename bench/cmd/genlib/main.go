// Command genlib writes a synthetic imgctl spec library for the benchmarks.
//
//	genlib -n 1000 -registry 127.0.0.1:5000/bench -out DIR
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/imgctl/imgctl/bench/internal/genlib"
)

func main() {
	var o genlib.Options
	out := flag.String("out", "", "directory to write (must not exist or be empty)")
	flag.IntVar(&o.Images, "n", 1000, "number of images")
	flag.StringVar(&o.Registry, "registry", "127.0.0.1:5000/bench", "registry of the library")
	flag.Uint64Var(&o.Seed, "seed", 1, "seed of the field choices")
	flag.BoolVar(&o.ImportSchema, "import-schema", true, "import imgctl.dev/schema (vendored in cue.mod/pkg) and constrain the library with it, so plain cue vet checks what imgctl checks")
	flag.IntVar(&o.PinEvery, "pin-every", 0, "pin every Nth team to -pin-version of its family (0: none)")
	flag.StringVar(&o.PinVersion, "pin-version", "2026.11.01", "version pinned teams use")
	flag.StringVar(&o.RootFrom, "root-from", "", "the root's external base, REPO@sha256:… (\"\": a made-up debian digest no registry serves)")
	flag.BoolVar(&o.Presets, "presets", false, "add size presets and node pools, families as Jupyter images, every third team with its own sizes")
	flag.Parse()
	if *out == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: genlib -out DIR [-n N] [-registry HOST:PORT/PREFIX] [-seed S] [-import-schema=false] [-pin-every K] [-root-from REF]")
		os.Exit(2)
	}
	if err := genlib.Write(*out, o); err != nil {
		fmt.Fprintln(os.Stderr, "genlib:", err)
		os.Exit(1)
	}
}
