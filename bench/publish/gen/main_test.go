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
	if err := write(out, rootfs); err != nil {
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
	if err := write(out, rootfs); err == nil {
		t.Error("writing into a non-empty directory: no error")
	}
}
