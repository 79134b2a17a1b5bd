package spec

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
)

// ReservedName is the first path component no image name may have: the
// registry build caches live under <registry>/imgctl-cache/<image>.
const ReservedName = "imgctl-cache"

var (
	registryRE = lazyRegexp(`^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?(:[0-9]{1,5})?(/[a-z0-9]+([._-][a-z0-9]+)*)*$`)
	nameRE     = lazyRegexp(`^[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*$`)
	envKeyRE   = lazyRegexp(`^[A-Za-z_][A-Za-z0-9_]*$`)
	// VersionRE is the regexp of a dated version tag: YYYY.MM.DD or
	// YYYY.MM.DD.N (compiled on first use).
	VersionRE = lazyRegexp(`^([0-9]{4})\.([0-9]{2})\.([0-9]{2})(\.([1-9][0-9]*))?$`)
)

// ValidRegistry reports whether r is host[:port] with an optional
// lowercase path prefix.
func ValidRegistry(r string) bool { return registryRE().MatchString(r) }

// ValidVersion reports whether v is a well-formed dated version of a real day.
func ValidVersion(v string) bool {
	m := VersionRE().FindStringSubmatch(v)
	if m == nil {
		return false
	}
	_, err := time.Parse("2006.01.02", m[1]+"."+m[2]+"."+m[3])
	return err == nil
}

// check runs the static checks that CUE does not: names, references,
// package names, platforms, the graph and files. It fills in ParentVersion,
// the effective platforms (see resolvePlatforms), defaults and file digests.
// idx gives list elements their positions.
func check(lib *Library, idx *syntaxIndex, c *collector) {
	if lib.Registry != "" && !ValidRegistry(lib.Registry) {
		c.add(lib.RegistryPos, "registry: %q is not host[:port]/path-prefix (no scheme; lowercase path components)", lib.Registry)
	}
	checkPolicy(&lib.Policy, idx, c)
	checkSizes(lib, c)
	checkBudgets(lib, c)
	for i, ig := range lib.Policy.Vulnerabilities.Ignore {
		for _, n := range ig.Images {
			if lib.Image(n) == nil && !lib.declared[n] {
				c.add(ig.Pos, "policy.vulnerabilities.ignore[%d].images: no image %q in the library", i, n)
			}
		}
	}
	st := &platformState{badPlatforms: map[string]bool{}, badRootfs: map[string]bool{}, origin: map[string]string{}}
	for _, im := range lib.Images {
		checkImage(lib, idx, im, st, c)
	}
	for _, cyc := range lib.Graph().Cycles() {
		first := lib.Image(cyc[0])
		if len(cyc) == 1 {
			c.add(first.PosOf("parent"), "images.%s.parent: image is its own parent", first.Name)
			continue
		}
		c.add(first.PosOf("parent"), "images.%s.parent: dependency cycle: %s -> %s", first.Name, strings.Join(cyc, " -> "), cyc[0])
	}
	resolvePlatforms(lib, st, c)
	for _, im := range lib.Images {
		checkRootfsPlatforms(im, st, c)
	}
}

// checkPolicy checks the policy and normalises its platforms.
func checkPolicy(pol *Policy, idx *syntaxIndex, c *collector) {
	if pol.Source != "" { // "" is refused by the schema
		if err := checkSource(pol.Source); err != nil {
			c.add(pol.SourcePos, "policy.source: %v", err)
		}
	}
	if pol.CacheRepo != "" && !ValidRegistry(pol.CacheRepo) {
		c.add(pol.CacheRepoPos, "policy.cacheRepo: %q is not host[:port]/path (no scheme; lowercase path components)", pol.CacheRepo)
	}
	if pol.Mirror != "" && (!ValidRegistry(pol.Mirror) || !strings.Contains(pol.Mirror, "/")) {
		c.add(pol.MirrorPos, "policy.mirror: %q is not HOST[:PORT]/PREFIX (no scheme; lowercase path components; a prefix is required)", pol.Mirror)
	}
	if pol.SBOMScanner != "" {
		if _, err := name.ParseReference(pol.SBOMScanner, name.StrictValidation); err != nil {
			c.add(pol.SBOMScannerPos, "policy.sbomScanner: %q is not an image reference host[:port]/repo:tag or …@sha256:…: %v", pol.SBOMScanner, err)
		}
	}
	if pol.VulnDB != "" {
		if _, err := name.ParseReference(pol.VulnDB, name.StrictValidation); err != nil {
			c.add(pol.VulnDBPos, "policy.vulnDB: %q is not an artifact reference host[:port]/repo:tag: %v", pol.VulnDB, err)
		}
	}
	for i, ig := range pol.Vulnerabilities.Ignore {
		if _, err := time.Parse("2006-01-02", ig.Until); err != nil {
			c.add(ig.Pos, "policy.vulnerabilities.ignore[%d].until: %q is not a day (YYYY-MM-DD)", i, ig.Until)
		}
	}
	if len(pol.Platforms) > 0 {
		elem := func(i int) Pos {
			if pos := idx.elemPos("", "policy.platforms", i); pos.IsValid() {
				return pos
			}
			return pol.PlatformsPos
		}
		pol.Platforms, _ = checkPlatforms(pol.Platforms, "policy.platforms", elem, c)
	}
}

func checkImage(lib *Library, idx *syntaxIndex, im *Image, st *platformState, c *collector) {
	at := func(field string) Pos { return im.PosOf(field) }
	p := "images." + im.Name
	// elem is the position of element i of a list ("apt", "pip.packages"),
	// or of the field holding the list when the syntax does not show it.
	elem := func(path string, i int) Pos {
		if pos := idx.elemPos(im.Name, path, i); pos.IsValid() {
			return pos
		}
		field, _, _ := strings.Cut(path, ".")
		return at(field)
	}
	if !nameRE().MatchString(im.Name) || len(lib.Registry)+1+len(im.Name) > 255 {
		c.add(im.Pos, "%s: invalid image name %q: use lowercase letters, digits and single '.', '_' or '-' separators, '/' between path components", p, im.Name)
	}
	if first, _, _ := strings.Cut(im.Name, "/"); first == ReservedName {
		c.add(im.Pos, "%s: image names under %q are reserved: imgctl keeps the build caches there", p, ReservedName)
	}
	switch {
	case im.From != "" && im.Parent != "":
		c.add(at("parent"), "%s: both from and parent are set; an image has exactly one base", p)
	case im.From == "" && im.Parent == "":
		c.add(im.Pos, "%s: neither from nor parent is set; an image needs exactly one base", p)
	case im.From != "" && im.From != "scratch":
		if _, err := name.ParseReference(im.From); err != nil {
			c.add(at("from"), "%s.from: %q is not an image reference (repo:tag or repo@sha256:…): %v", p, im.From, err)
		}
	case im.Parent != "":
		checkParent(lib, im, c)
	}
	for i, pkg := range im.Apt {
		if err := checkAptPackage(pkg); err != nil {
			c.add(elem("apt", i), "%s.apt[%d]: %v", p, i, err)
		}
	}
	if im.Pip != nil {
		for i, req := range im.Pip.Packages {
			if err := checkRequirement(req); err != nil {
				c.add(elem("pip.packages", i), "%s.pip.packages[%d]: %v", p, i, err)
			}
		}
		checkURL(im.Pip.Index, at("pip"), p+".pip.index", c)
		if im.Pip.CredentialsEnv != "" && im.Pip.Index == "" {
			c.add(at("pip"), "%s.pip.credentialsEnv: %s holds credentials for pip.index, which is not set: name the private index (pip.index) or drop credentialsEnv", p, im.Pip.CredentialsEnv)
		}
	}
	if im.R != nil {
		for i, pkg := range im.R.Packages {
			if err := checkRPackage(pkg); err != nil {
				c.add(elem("r.packages", i), "%s.r.packages[%d]: %v", p, i, err)
			}
		}
		checkURL(im.R.Repo, at("r"), p+".r.repo", c)
	}
	for k := range im.Env {
		if !envKeyRE().MatchString(k) {
			c.add(at("env"), "%s.env: invalid variable name %q", p, k)
		}
	}
	for _, t := range im.Tags {
		if t == "latest" || ValidVersion(t) || VersionRE().MatchString(t) || strings.HasSuffix(t, "-deprecated") || strings.HasPrefix(t, "sha256-") || t == "buildcache" {
			c.add(at("tags"), "%s.tags: %q is reserved for imgctl (latest, dated versions, -deprecated, sha256-, buildcache)", p, t)
		}
	}
	if d := im.Deprecated; d != nil && d.Replacement != "" && !strings.ContainsAny(d.Replacement, "/:@") && !lib.declared[d.Replacement] {
		c.add(at("deprecated"), "%s.deprecated.replacement: image %q not found in the library", p, d.Replacement)
	}
	// An empty list is unset: the image inherits (see resolvePlatforms).
	im.PlatformsInherited = len(im.Platforms) == 0
	if !im.PlatformsInherited {
		var ok bool
		im.Platforms, ok = checkPlatforms(im.Platforms, p+".platforms", func(i int) Pos { return elem("platforms", i) }, c)
		st.badPlatforms[im.Name] = !ok
	}
	if im.Rootfs != "" {
		im.RootfsDigest = checkFile(lib.Dir, im.Rootfs, "", at("rootfs"), p+".rootfs", c)
	}
	if len(im.RootfsByPlatform) > 0 {
		var ok bool
		im.RootfsByPlatform, ok = checkRootfsMap(lib.Dir, im, c)
		st.badRootfs[im.Name] = !ok
	}
	for i := range im.Files {
		f := &im.Files[i]
		pos := f.Pos
		if !pos.IsValid() {
			pos = at("files")
		}
		f.Digest = checkFile(lib.Dir, f.Src, f.SHA256, pos, fmt.Sprintf("%s.files[%d].src", p, i), c)
	}
}

// checkRootfsMap checks the map form of rootfs: each key a platform, no
// platform twice (also in two spellings), each archive like a single
// rootfs. It returns the map keyed by normalised platform, with digests;
// which platforms it must cover is checked once they are resolved
// (checkRootfsPlatforms). ok is false when a key is in error.
func checkRootfsMap(dir string, im *Image, c *collector) (out map[string]RootfsFile, ok bool) {
	p := "images." + im.Name + ".rootfs"
	keys := make([]string, 0, len(im.RootfsByPlatform))
	for k := range im.RootfsByPlatform {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	ok = true
	out = make(map[string]RootfsFile, len(keys))
	written := make(map[string]string, len(keys)) // normalised -> key
	for _, k := range keys {
		f := im.RootfsByPlatform[k]
		if !f.Pos.IsValid() {
			f.Pos = im.PosOf("rootfs")
		}
		what := fmt.Sprintf("%s.%q", p, k)
		f.Digest = checkFile(dir, f.Src, "", f.Pos, what, c)
		n, err := NormalizePlatform(k)
		switch {
		case err != nil:
			c.add(f.Pos, "%s: %v", what, err)
			ok = false
		case written[n] != "":
			c.add(f.Pos, "%s: the same platform as %q (both are %s)", what, written[n], n)
			ok = false
		default:
			written[n] = k
			out[n] = f
		}
	}
	return out, ok
}

// checkURL refuses credentials in a package index URL: they would land in
// the build definition, the image history and logs.
func checkURL(raw string, pos Pos, what string, c *collector) {
	if raw == "" {
		return
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		c.add(pos, "%s: %q is not a URL: %v", what, raw, err)
	case u.User != nil:
		c.add(pos, "%s: credentials in the URL would be recorded in the image; put them in an environment variable named by pip.credentialsEnv", what)
	case u.Scheme == "file":
		c.add(pos, "%s: file:// URLs are read inside the build container, not from the spec repository; serve the index over HTTP", what)
	}
}

func checkParent(lib *Library, im *Image, c *collector) {
	p := "images." + im.Name + ".parent"
	parent, version, pinned := strings.Cut(im.Parent, "@")
	if pinned {
		im.Parent, im.ParentVersion = parent, version
		if !ValidVersion(version) {
			c.add(im.PosOf("parent"), "%s: pinned version %q is not a dated version YYYY.MM.DD or YYYY.MM.DD.N", p, version)
		}
	}
	if parent == im.Name {
		return // reported as a cycle of one
	}
	if !lib.declared[parent] {
		msg := fmt.Sprintf("%s: image %q not found in the library", p, parent)
		if s := closest(parent, lib.Names()); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		c.add(im.PosOf("parent"), "%s", msg)
	}
}

// checkFile checks that src is a regular file inside dir, also after
// resolving symlinks, and matches want when given. It returns the file's
// digest "sha256:<hex>", or "" after reporting a problem.
func checkFile(dir, src, want string, pos Pos, what string, c *collector) string {
	if filepath.IsAbs(src) {
		c.add(pos, "%s: %q is absolute; paths are relative to the spec directory", what, src)
		return ""
	}
	clean := filepath.Clean(filepath.FromSlash(src))
	if clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
		c.add(pos, "%s: %q escapes the spec directory", what, src)
		return ""
	}
	full := filepath.Join(dir, clean)
	st, err := os.Lstat(full)
	if err != nil {
		c.add(pos, "%s: file %q not found in the spec directory", what, src)
		return ""
	}
	real, err := filepath.EvalSymlinks(full)
	if err != nil {
		c.add(pos, "%s: %q is a broken symlink", what, src)
		return ""
	}
	realDir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		realDir = dir
	}
	if rel, err := filepath.Rel(realDir, real); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		c.add(pos, "%s: %q is a symlink that escapes the spec directory", what, src)
		return ""
	}
	if st, err = os.Stat(real); err != nil || !st.Mode().IsRegular() {
		c.add(pos, "%s: %q is not a regular file", what, src)
		return ""
	}
	digest, err := FileDigest(real)
	if err != nil {
		c.add(pos, "%s: reading %q: %v", what, src, err)
		return ""
	}
	if sum := strings.TrimPrefix(digest, "sha256:"); want != "" && want != sum {
		c.add(pos, "%s: sha256 mismatch for %q: spec says %s, file has %s", what, src, want, sum)
		return ""
	}
	return digest
}

// FileDigest returns "sha256:<hex>" of the file at path.
func FileDigest(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// closest returns the name within edit distance 2 of s, if any.
func closest(s string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		if d := editDistance(s, n); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// lazyRegexp compiles expr on first use, not when imgctl starts (imgctl
// --help compiles nothing).
func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}
