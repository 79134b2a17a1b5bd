package spec

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/containerd/platforms"
)

// knownArchitectures are the architectures a platform may name, in the
// order error messages list them: the GOARCH values OCI image indexes use.
var knownArchitectures = []string{"amd64", "arm64", "arm", "386", "ppc64le", "s390x", "riscv64", "mips64le", "loong64"}

// knownVariants are the variants each architecture may carry
// ("linux/arm/v7"). An architecture not listed here takes no variant.
var knownVariants = map[string][]string{
	"arm":   {"v5", "v6", "v7"},
	"arm64": {"v8"},
	"amd64": {"v2", "v3", "v4"},
}

// NormalizePlatform checks that p is "linux/ARCH" or "linux/ARCH/VARIANT"
// with a known architecture and variant (see checkPlatform) and returns its
// normalised form, the one Image.Platforms holds: containerd's
// platforms.Format(platforms.Normalize(platforms.Parse(p))). That drops
// default variants ("linux/arm64/v8" is "linux/arm64", as in OCI image
// indexes) and adds arm's ("linux/arm" is "linux/arm/v7"); everything else
// is kept as written.
func NormalizePlatform(p string) (string, error) {
	if err := checkPlatform(p); err != nil {
		return "", err
	}
	parsed, err := platforms.Parse(p)
	if err != nil {
		return "", fmt.Errorf("%q is not a platform: %w", p, err)
	}
	return platforms.Format(platforms.Normalize(parsed)), nil
}

// checkPlatforms checks a written platforms list and returns its valid
// entries normalised and sorted. what is the list's path for messages
// ("images.a.platforms"); elem gives element i's position. A platform listed
// twice, also in two spellings of one platform, is an error. ok is false
// when anything was reported.
func checkPlatforms(list []string, what string, elem func(i int) Pos, c *collector) (out []string, ok bool) {
	ok = true
	first := make(map[string]int, len(list)) // normalised -> first index
	for i, pl := range list {
		n, err := NormalizePlatform(pl)
		if err != nil {
			c.add(elem(i), "%s[%d]: %v", what, i, err)
			ok = false
			continue
		}
		if j, dup := first[n]; dup {
			if list[j] == pl {
				c.add(elem(i), "%s[%d]: %q is listed twice (also platforms[%d])", what, i, pl, j)
			} else {
				c.add(elem(i), "%s[%d]: %q is the same platform as platforms[%d] %q (both are %s)", what, i, pl, j, list[j], n)
			}
			ok = false
			continue
		}
		first[n] = i
		out = append(out, n)
	}
	sort.Strings(out)
	return out, ok
}

// checkPlatform checks that p is "linux/ARCH" or "linux/ARCH/VARIANT" with a
// known architecture and variant. It normalises nothing (NormalizePlatform
// does). The error names p and every part that is wrong.
func checkPlatform(p string) error {
	parts := strings.Split(p, "/")
	if len(parts) < 2 || len(parts) > 3 {
		return fmt.Errorf("%q is not a platform: want os/architecture or os/architecture/variant, e.g. linux/amd64", p)
	}
	var problems []string
	if parts[0] != "linux" {
		problems = append(problems, fmt.Sprintf("OS %q (want linux: only linux images are built)", parts[0]))
	}
	arch := parts[1]
	switch {
	case !slices.Contains(knownArchitectures, arch):
		problems = append(problems, fmt.Sprintf("architecture %q (want one of %s)", arch, strings.Join(knownArchitectures, ", ")))
	case len(parts) == 3 && len(knownVariants[arch]) == 0:
		problems = append(problems, fmt.Sprintf("variant %q (%s has no variants)", parts[2], arch))
	case len(parts) == 3 && !slices.Contains(knownVariants[arch], parts[2]):
		problems = append(problems, fmt.Sprintf("variant %q (want %s for %s)", parts[2], orList(knownVariants[arch]), arch))
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("%q is not a known platform: %s", p, strings.Join(problems, "; "))
}

// platformState is what the platform checks learn about each image, by
// name.
type platformState struct {
	// bad images have errors in their written platforms or rootfs keys:
	// checks that would repeat those errors skip them.
	badPlatforms, badRootfs map[string]bool
	// origin says where effective platforms come from, as a suffix for
	// messages: "" when written, ", inherited from debian",
	// ", from policy.platforms" or ", the default".
	origin map[string]string
}

// describe renders an image's platforms and their origin for messages:
// "linux/amd64, linux/arm64, from policy.platforms".
func (st *platformState) describe(im *Image) string {
	return strings.Join(im.Platforms, ", ") + st.origin[im.Name]
}

// resolvePlatforms gives every image its effective platforms, parents
// first: an image that sets none inherits its parent's, a root gets
// policy.platforms or DefaultPlatforms. An image that sets platforms may ask
// only for platforms its parent is built for. For a pinned parent
// ("python3@2026.11.01") both use the parent spec's current platforms, not
// those of the pinned version: the spec cannot see what was published (the
// build checks the base it pulls).
func resolvePlatforms(lib *Library, st *platformState, c *collector) {
	rootPlatforms, rootOrigin := DefaultPlatforms, ", the default"
	if len(lib.Policy.Platforms) > 0 {
		rootPlatforms, rootOrigin = lib.Policy.Platforms, ", from policy.platforms"
	}
	done := make(map[string]bool, len(lib.Images))
	resolve := func(im *Image) {
		done[im.Name] = true
		var parent *Image
		if !im.IsExternal() && done[im.Parent] {
			parent = lib.Image(im.Parent)
		}
		switch {
		case !im.PlatformsInherited:
			if parent != nil && !st.badPlatforms[parent.Name] {
				checkParentPlatforms(im, parent, st, c)
			}
		case parent != nil:
			im.Platforms = slices.Clone(parent.Platforms)
			st.origin[im.Name] = st.origin[parent.Name]
			if st.origin[im.Name] == "" {
				st.origin[im.Name] = ", inherited from " + parent.Name
			}
		default: // a root, or an image whose parent is missing or on a cycle (reported)
			im.Platforms = slices.Clone(rootPlatforms)
			st.origin[im.Name] = rootOrigin
		}
	}
	for _, name := range lib.Graph().Order() {
		resolve(lib.Image(name))
	}
	for _, im := range lib.Images { // on or below a cycle
		if !done[im.Name] {
			resolve(im)
		}
	}
}

// checkParentPlatforms reports the platforms im asks for that parent is not
// built for.
func checkParentPlatforms(im, parent *Image, st *platformState, c *collector) {
	var missing []string
	for _, pl := range im.Platforms {
		if !slices.Contains(parent.Platforms, pl) {
			missing = append(missing, pl)
		}
	}
	if len(missing) == 0 {
		return
	}
	verb := "is"
	if len(missing) > 1 {
		verb = "are"
	}
	c.add(im.PosOf("platforms"), "images.%s.platforms: %s %s not built for parent %s (its platforms: %s)",
		im.Name, andList(missing), verb, parent.Name, st.describe(parent))
}

// checkRootfsPlatforms checks that the map form of rootfs has an archive
// for each of the image's effective platforms and for no other platform.
func checkRootfsPlatforms(im *Image, st *platformState, c *collector) {
	if len(im.RootfsByPlatform) == 0 || st.badPlatforms[im.Name] {
		return
	}
	p := "images." + im.Name + ".rootfs"
	keys := make([]string, 0, len(im.RootfsByPlatform))
	for k := range im.RootfsByPlatform {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !slices.Contains(im.Platforms, k) {
			c.add(im.RootfsByPlatform[k].Pos, "%s: %s is not one of the image's platforms (%s)", p, k, st.describe(im))
		}
	}
	if st.badRootfs[im.Name] {
		return // a key in error may have been meant for the missing platform
	}
	var missing []string
	for _, pl := range im.Platforms {
		if _, ok := im.RootfsByPlatform[pl]; !ok {
			missing = append(missing, pl)
		}
	}
	switch len(missing) {
	case 0:
	case 1:
		c.add(im.PosOf("rootfs"), "%s: no archive for platform %s (the image's platforms: %s)", p, missing[0], st.describe(im))
	default:
		c.add(im.PosOf("rootfs"), "%s: no archive for platforms %s (the image's platforms: %s)", p, andList(missing), st.describe(im))
	}
}

// andList renders ["a", "b", "c"] as "a, b and c".
func andList(xs []string) string {
	if len(xs) <= 1 {
		return strings.Join(xs, "")
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " and " + xs[len(xs)-1]
}

// orList renders ["a", "b", "c"] as "a, b or c".
func orList(xs []string) string {
	if len(xs) <= 1 {
		return strings.Join(xs, "")
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " or " + xs[len(xs)-1]
}
