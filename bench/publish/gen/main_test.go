package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGraphShape(t *testing.T) {
	imgs := graph()
	if len(imgs) != 40 {
		t.Fatalf("got %d images, want 40", len(imgs))
	}
	kinds := map[string]int{}
	seen := map[string]bool{}
	for _, im := range imgs {
		kinds[im.kind]++
		if im.parent != "" && !seen[im.parent] {
			t.Errorf("%s: parent %q does not come before it", im.name, im.parent)
		}
		if seen[im.name] {
			t.Errorf("%s: duplicate name", im.name)
		}
		seen[im.name] = true
		if n := len(im.run); n < 2 || n > 3 {
			t.Errorf("%s: %d run steps, want 2 or 3", im.name, n)
		}
	}
	if kinds["root"] != 1 || kinds["family"] != 3 || kinds["team"] != 36 {
		t.Errorf("kinds = %v, want 1 root, 3 families, 36 teams", kinds)
	}
	if !seen[leafName()] {
		t.Errorf("leaf %q is not in the graph", leafName())
	}
	for _, im := range imgs {
		if im.name == leafName() && (im.kind != "team" || im.parent != leafParent()) {
			t.Errorf("leaf %s: kind %s, parent %s; want a team on %s", im.name, im.kind, im.parent, leafParent())
		}
	}
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	rootfs := filepath.Join(dir, "in.tar")
	if err := os.WriteFile(rootfs, []byte("tar bytes"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	l, err := newLayout("linux/amd64", []string{rootfs})
	if err != nil {
		t.Fatal(err)
	}
	if err := write(out, l); err != nil {
		t.Fatal(err)
	}
	read := func(p string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(out, p))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, p := range []string{"imgctl/busybox.tar", "bake/root/busybox.tar"} {
		if got := read(p); got != "tar bytes" {
			t.Errorf("%s = %q, want the rootfs bytes", p, got)
		}
	}
	fields := strings.Split(strings.TrimSpace(read("leaf")), "\t")
	if len(fields) != 4 || fields[0] != leafName() || fields[3] != leafParent() {
		t.Fatalf("leaf = %q", fields)
	}
	// bench/publish.sh changes the leaf with this substitution: it must hit
	// exactly one line in the spec and one in the leaf's Dockerfile.
	from := fields[0] + " step 0 " + fields[1]
	for _, p := range []string{"imgctl/library.cue", "bake/" + leafName() + "/Dockerfile"} {
		if n := strings.Count(read(p), from); n != 1 {
			t.Errorf("%s: %q occurs %d times, want 1", p, from, n)
		}
	}
	bake := read("bake/docker-bake.hcl")
	for _, im := range graph() {
		df := read("bake/" + im.name + "/Dockerfile")
		for _, r := range im.run {
			if !strings.Contains(df, "RUN "+r+"\n") {
				t.Errorf("%s/Dockerfile lacks RUN %s", im.name, r)
			}
		}
		if im.parent != "" && !strings.Contains(bake, `contexts  = { parent = "target:`+im.parent+`" }`) {
			t.Errorf("bake file: %s does not read its parent %s", im.name, im.parent)
		}
	}
	if strings.Contains(read("imgctl/library.cue"), "platforms") {
		t.Error("library.cue names platforms for linux/amd64 alone")
	}
	if !strings.Contains(read("imgctl/library.cue"), `rootfs: "busybox.tar"`) {
		t.Error(`library.cue: the root lacks rootfs: "busybox.tar"`)
	}
	if n := strings.Count(bake, `platforms = ["linux/amd64"]`); n != len(graph()) {
		t.Errorf(`bake file: platforms = ["linux/amd64"] %d times, want %d`, n, len(graph()))
	}
	if err := write(out, l); err == nil {
		t.Error("writing into a non-empty directory: no error")
	}
}

func TestWriteTwoPlatforms(t *testing.T) {
	dir := t.TempDir()
	var args []string
	for _, a := range []string{"amd64", "arm64"} {
		p := filepath.Join(dir, a+".tar")
		if err := os.WriteFile(p, []byte(a+" tar"), 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, "linux/"+a+"="+p)
	}
	l, err := newLayout("linux/amd64,linux/arm64", args)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	if err := write(out, l); err != nil {
		t.Fatal(err)
	}
	read := func(p string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(out, p))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, a := range []string{"amd64", "arm64"} {
		for _, p := range []string{"imgctl/busybox-" + a + ".tar", "bake/root/busybox-" + a + ".tar"} {
			if got := read(p); got != a+" tar" {
				t.Errorf("%s = %q, want the %s rootfs bytes", p, got, a)
			}
		}
	}
	lib := read("imgctl/library.cue")
	for _, want := range []string{
		`platforms: ["linux/amd64", "linux/arm64"]`,
		`"linux/amd64": "busybox-amd64.tar"`,
		`"linux/arm64": "busybox-arm64.tar"`,
	} {
		if n := strings.Count(lib, want); n != 1 {
			t.Errorf("library.cue: %s occurs %d times, want 1 (on the root only)", want, n)
		}
	}
	bake := read("bake/docker-bake.hcl")
	if n := strings.Count(bake, `platforms = ["linux/amd64", "linux/arm64"]`); n != len(graph()) {
		t.Errorf("bake file: both platforms on %d targets, want %d", n, len(graph()))
	}
	if df := read("bake/root/Dockerfile"); !strings.Contains(df, "ARG TARGETARCH\n") ||
		!strings.Contains(df, "ADD busybox-${TARGETARCH}${TARGETVARIANT}.tar /\n") {
		t.Errorf("root Dockerfile does not ADD the target platform's rootfs:\n%s", df)
	}
}

func TestNewLayoutErrors(t *testing.T) {
	for _, c := range []struct {
		platforms string
		rootfs    []string
	}{
		{"linux/amd64", nil},
		{"linux/amd64", []string{"a.tar", "b.tar"}},
		{"linux/amd64", []string{"linux/arm64=a.tar"}},
		{"linux", []string{"a.tar"}},
		{"linux/amd64,linux/amd64", []string{"linux/amd64=a.tar"}},
		{"linux/amd64,linux/arm64", []string{"a.tar"}},
		{"linux/amd64,linux/arm64", []string{"linux/amd64=a.tar"}},
		{"linux/amd64,linux/arm64", []string{"linux/amd64=a.tar", "linux/arm64=b.tar", "linux/arm64=c.tar"}},
		{"linux/amd64,linux/arm64", []string{"linux/amd64=a.tar", "linux/s390x=b.tar"}},
	} {
		if _, err := newLayout(c.platforms, c.rootfs); err == nil {
			t.Errorf("newLayout(%q, %q): no error", c.platforms, c.rootfs)
		}
	}
}
