// Command gen writes the image graph bench/publish.sh publishes twice: as an
// imgctl spec library and as an equivalent docker buildx bake file.
//
//	gen -out DIR -rootfs busybox.tar
//	gen -out DIR -platforms linux/amd64,linux/arm64 \
//	    -rootfs linux/amd64=busybox.tar -rootfs linux/arm64=busybox-arm64.tar
//
// The graph is 40 small images: one root (FROM scratch + the busybox rootfs
// tar), 3 families on it and 12 teams on each family. Every image has 2 or 3
// run steps that each write one small file. gen writes
//
//	DIR/imgctl/library.cue          the spec library (rootfs: "busybox.tar")
//	DIR/imgctl/busybox.tar          a copy of -rootfs
//	DIR/bake/docker-bake.hcl        one target per image, group "default"
//	DIR/bake/NAME/Dockerfile        one context directory per target
//	DIR/bake/root/busybox.tar       the root's ADD source
//	DIR/leaf                        "NAME<TAB>FROM<TAB>TO<TAB>PARENT": how to change one leaf
//
// -platforms (default linux/amd64) are the platforms of the whole graph. With
// more than one, the root needs one busybox rootfs per platform, each given
// as -rootfs PLATFORM=PATH, and copied as busybox-ARCH.tar (busybox-arm64.tar;
// ARCH is the architecture followed by the variant, if any). The root then
// declares platforms: [...] and rootfs: {PLATFORM: "busybox-ARCH.tar", ...}
// (the children inherit the platforms); every bake target has the same
// platforms, and the root's Dockerfile ADDs busybox-${TARGETARCH}${TARGETVARIANT}.tar,
// so each platform of the bake root gets its own archive as well. For
// linux/amd64 alone the output is that of the first form: the spec names no
// platforms (imgctl's default) and the bake targets say linux/amd64.
//
// The Dockerfiles are what `imgctl render` prints for the same specs, except
// that a child's FROM names the bake context "parent" (contexts = { parent =
// "target:PARENT" }) instead of the parent's registry tag. Both tools push to
// the registry given at run time: imgctl with --registry, bake with the
// REGISTRY variable (--var REGISTRY=HOST:PORT/PREFIX).
//
// The leaf change is a plain text substitution that bench/publish.sh applies
// with sed to DIR/imgctl/library.cue and DIR/bake/NAME/Dockerfile alike.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

const (
	families       = 3
	teamsPerFamily = 12
	rootfsName     = "busybox.tar"
	// leafMarker is the text of the changed leaf's first run step that the
	// leaf change replaces with leafMarkerChanged.
	leafMarker        = "rev=0"
	leafMarkerChanged = "rev=1"
	// defaultPath is imgctl's PATH for an image whose base sets none; the
	// root's Dockerfile sets it explicitly so both configs are the same.
	defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
)

// rootfsArchive is one platform's root filesystem: the platform, the source
// tar and the name it is copied under (next to the spec, and in the bake
// root's context).
type rootfsArchive struct {
	platform, src, name string
}

// layout is what is written besides the graph: the platforms and the root's
// archives, in platform order.
type layout struct {
	platforms []string
	rootfs    []rootfsArchive
}

// perPlatform reports whether each platform has an archive of its own (the
// map form of rootfs).
func (l layout) perPlatform() bool { return len(l.platforms) > 1 }

// defaultPlatforms reports whether the graph is for linux/amd64 only, the
// spec's default, so the spec need not name it.
func (l layout) defaultPlatforms() bool {
	return len(l.platforms) == 1 && l.platforms[0] == "linux/amd64"
}

// newLayout checks the -platforms and -rootfs arguments: a comma-separated
// list of OS/ARCH[/VARIANT] and either one plain PATH (a single platform) or
// one PLATFORM=PATH per platform.
func newLayout(platforms string, rootfs []string) (layout, error) {
	var l layout
	seen := map[string]bool{}
	names := map[string]string{}
	for _, p := range strings.Split(platforms, ",") {
		p = strings.TrimSpace(p)
		parts := strings.Split(p, "/")
		if len(parts) < 2 || len(parts) > 3 || slices.Contains(parts, "") {
			return layout{}, fmt.Errorf("platform %q: want OS/ARCH or OS/ARCH/VARIANT", p)
		}
		if seen[p] {
			return layout{}, fmt.Errorf("platform %q given twice", p)
		}
		seen[p] = true
		name := "busybox-" + strings.Join(parts[1:], "") + ".tar"
		if other, ok := names[name]; ok {
			return layout{}, fmt.Errorf("platforms %q and %q: both would use %s", other, p, name)
		}
		names[name] = p
		l.platforms = append(l.platforms, p)
	}
	if !l.perPlatform() {
		if len(rootfs) != 1 {
			return layout{}, fmt.Errorf("one platform needs one -rootfs, got %d", len(rootfs))
		}
		src := rootfs[0]
		if p, path, ok := strings.Cut(src, "="); ok {
			if p != l.platforms[0] {
				return layout{}, fmt.Errorf("-rootfs %s: platform %q is not %q", src, p, l.platforms[0])
			}
			src = path
		}
		l.rootfs = []rootfsArchive{{platform: l.platforms[0], src: src, name: rootfsName}}
		return l, nil
	}
	srcs := map[string]string{}
	for _, r := range rootfs {
		p, path, ok := strings.Cut(r, "=")
		if !ok || path == "" {
			return layout{}, fmt.Errorf("-rootfs %s: with more than one platform, give PLATFORM=PATH for each", r)
		}
		if !seen[p] {
			return layout{}, fmt.Errorf("-rootfs %s: %q is not one of -platforms", r, p)
		}
		if _, dup := srcs[p]; dup {
			return layout{}, fmt.Errorf("-rootfs: platform %q given twice", p)
		}
		srcs[p] = path
	}
	for _, p := range l.platforms {
		src, ok := srcs[p]
		if !ok {
			return layout{}, fmt.Errorf("no -rootfs for platform %q", p)
		}
		parts := strings.Split(p, "/")
		l.rootfs = append(l.rootfs, rootfsArchive{platform: p, src: src, name: "busybox-" + strings.Join(parts[1:], "") + ".tar"})
	}
	return l, nil
}

// image is one node of the graph.
type image struct {
	name, parent string
	kind         string // "root", "family" or "team"
	run          []string
}

// graph returns the 40 images in graph order (parents first).
func graph() []image {
	root := image{name: "root", kind: "root", run: runSteps("root", 3)}
	out := []image{root}
	for f := 1; f <= families; f++ {
		fam := fmt.Sprintf("fam%d", f)
		out = append(out, image{name: fam, parent: "root", kind: "family", run: runSteps(fam, 2+f%2)})
	}
	for f := 1; f <= families; f++ {
		fam := fmt.Sprintf("fam%d", f)
		for t := 1; t <= teamsPerFamily; t++ {
			team := fmt.Sprintf("%s-team%02d", fam, t)
			out = append(out, image{name: team, parent: fam, kind: "team", run: runSteps(team, 2+t%2)})
		}
	}
	return out
}

// leafName is the team whose run step the leaf change edits.
func leafName() string { return fmt.Sprintf("fam%d-team%02d", families, teamsPerFamily) }

// leafParent is the leaf's parent.
func leafParent() string { return fmt.Sprintf("fam%d", families) }

// runSteps returns n shell steps for name, each writing one small file. The
// first carries the leaf marker.
func runSteps(name string, n int) []string {
	steps := make([]string, n)
	for i := range steps {
		steps[i] = fmt.Sprintf("echo '%s step %d' > /%s.%d", name, i, name, i)
	}
	steps[0] = fmt.Sprintf("echo '%s step 0 %s' > /%s.0", name, leafMarker, name)
	return steps
}

// stringsFlag is a repeatable string flag.
type stringsFlag []string

func (f *stringsFlag) String() string     { return strings.Join(*f, " ") }
func (f *stringsFlag) Set(v string) error { *f = append(*f, v); return nil }

func main() {
	out := flag.String("out", "", "directory to write (created; must be empty if it exists)")
	platforms := flag.String("platforms", "linux/amd64", "the graph's platforms, comma-separated")
	var rootfs stringsFlag
	flag.Var(&rootfs, "rootfs", "the busybox rootfs tar (hack/rootfs.sh busybox OUT.tar); PLATFORM=PATH, once per platform, for more than one platform")
	flag.Parse()
	if *out == "" || len(rootfs) == 0 || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: gen -out DIR [-platforms P1,P2 -rootfs P1=a.tar -rootfs P2=b.tar | -rootfs busybox.tar]")
		os.Exit(2)
	}
	l, err := newLayout(*platforms, rootfs)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(2)
	}
	if err := write(*out, l); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func write(dir string, l layout) error {
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		return fmt.Errorf("writing %s: directory is not empty", dir)
	}
	imgs := graph()
	files := map[string]string{
		"imgctl/library.cue":   specLibrary(imgs, l),
		"bake/docker-bake.hcl": bakeFile(imgs, l),
		"leaf":                 leafName() + "\t" + leafMarker + "\t" + leafMarkerChanged + "\t" + leafParent() + "\n",
	}
	for _, im := range imgs {
		files["bake/"+im.name+"/Dockerfile"] = dockerfile(im, l)
	}
	for p, content := range files {
		if err := writeFile(filepath.Join(dir, p), strings.NewReader(content)); err != nil {
			return err
		}
	}
	for _, r := range l.rootfs {
		for _, p := range []string{"imgctl/" + r.name, "bake/root/" + r.name} {
			if err := copyFile(r.src, filepath.Join(dir, p)); err != nil {
				return err
			}
		}
	}
	return nil
}

// quoted returns ss as a list of quoted strings, `"a", "b"` (CUE and HCL
// alike).
func quoted(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

// specLibrary is the imgctl library: one CUE file.
func specLibrary(imgs []image, l layout) string {
	var b strings.Builder
	b.WriteString("// Generated by bench/publish/gen: the publish benchmark's image graph.\npackage images\n\n")
	b.WriteString("// Overridden by imgctl --registry.\nregistry: \"127.0.0.1:5000/bench\"\n")
	for _, im := range imgs {
		fmt.Fprintf(&b, "\nimages: %q: {\n", im.name)
		switch im.kind {
		case "root":
			b.WriteString("\tfrom:   \"scratch\"\n")
			if !l.defaultPlatforms() {
				fmt.Fprintf(&b, "\tplatforms: [%s]\n", quoted(l.platforms))
			}
			if l.perPlatform() {
				b.WriteString("\trootfs: {\n")
				for _, r := range l.rootfs {
					fmt.Fprintf(&b, "\t\t%q: %q\n", r.platform, r.name)
				}
				b.WriteString("\t}\n")
			} else {
				fmt.Fprintf(&b, "\trootfs: %q\n", l.rootfs[0].name)
			}
		case "family":
			fmt.Fprintf(&b, "\tparent: %q\n\tfamily: %q\n", im.parent, im.name)
		default:
			fmt.Fprintf(&b, "\tparent: %q\n\tteam:   %q\n", im.parent, im.name)
		}
		b.WriteString("\trun: [\n")
		for _, r := range im.run {
			fmt.Fprintf(&b, "\t\t%q,\n", r)
		}
		b.WriteString("\t]\n}\n")
	}
	return b.String()
}

// dockerfile is im as a Dockerfile; children build FROM the bake context
// "parent". With a rootfs per platform the root ADDs the one of the platform
// being built.
func dockerfile(im image, l layout) string {
	var b strings.Builder
	if im.kind == "root" {
		b.WriteString("FROM scratch\n")
		if l.perPlatform() {
			b.WriteString("ARG TARGETARCH\nARG TARGETVARIANT\nADD busybox-${TARGETARCH}${TARGETVARIANT}.tar /\n")
		} else {
			fmt.Fprintf(&b, "ADD %s /\n", l.rootfs[0].name)
		}
		fmt.Fprintf(&b, "ENV PATH=%s\n", defaultPath)
	} else {
		b.WriteString("FROM parent\n")
	}
	for _, r := range im.run {
		fmt.Fprintf(&b, "RUN %s\n", r)
	}
	return b.String()
}

// bakeFile is the bake definition: a target per image pushing
// ${REGISTRY}/NAME:latest, children reading their parent's result through
// the named context "parent", every target for the graph's platforms.
func bakeFile(imgs []image, l layout) string {
	var b strings.Builder
	b.WriteString("# Generated by bench/publish/gen: the publish benchmark's image graph.\n")
	b.WriteString("variable \"REGISTRY\" {\n  default = \"127.0.0.1:5000/bench\"\n}\n\n")
	b.WriteString("group \"default\" {\n  targets = [")
	for i, im := range imgs {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", im.name)
	}
	b.WriteString("]\n}\n")
	for _, im := range imgs {
		fmt.Fprintf(&b, "\ntarget %q {\n", im.name)
		fmt.Fprintf(&b, "  context   = %q\n", im.name)
		if im.parent != "" {
			fmt.Fprintf(&b, "  contexts  = { parent = \"target:%s\" }\n", im.parent)
		}
		fmt.Fprintf(&b, "  platforms = [%s]\n", quoted(l.platforms))
		fmt.Fprintf(&b, "  tags      = [\"${REGISTRY}/%s:latest\"]\n", im.name)
		b.WriteString("  output    = [\"type=image,push=true,registry.insecure=true\"]\n")
		b.WriteString("}\n")
	}
	return b.String()
}

func writeFile(path string, r io.Reader) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return f.Close()
}

func copyFile(src, dst string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	return writeFile(dst, f)
}
