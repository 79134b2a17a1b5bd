package build

import (
	"fmt"
	"strings"
)

// Dockerfile renders a Dockerfile equivalent to the build of req, for people
// debugging a spec (`imgctl render NAME`). Build it with the spec directory
// as the context and, when the image uses private pip credentials,
// `--secret id=pip-index-credentials,env=VAR` holding the URL-encoded
// "user:password".
//
// It is an approximation in two ways: it cannot know the base's config, so
// it assumes a non-scratch base sets PATH; and where imgctl keeps the base
// image's user in the config after running its steps as root, a Dockerfile
// cannot say "the base's user", so a comment marks the spot.
func Dockerfile(req Request) string {
	im := req.Image
	var b strings.Builder
	fmt.Fprintf(&b, "# syntax=docker/dockerfile:1\n# Rendered by imgctl from the spec of image %q.\n", im.Name)
	if im.Description != "" {
		fmt.Fprintf(&b, "# %s\n", oneLine(im.Description))
	}
	if plats, err := Platforms(im); err == nil && len(im.Platforms) > 0 {
		names := make([]string, len(plats))
		for i, p := range plats {
			names[i] = platformString(p)
		}
		fmt.Fprintf(&b, "# platforms: %s\n", strings.Join(names, ", "))
	} else if err != nil {
		fmt.Fprintf(&b, "# %v\n", err)
	}
	scratch := im.From == "scratch"
	switch {
	case scratch:
		b.WriteString("FROM scratch\n")
	case req.Base != "":
		fmt.Fprintf(&b, "FROM %s\n", req.Base)
	case im.From != "":
		fmt.Fprintf(&b, "FROM %s\n", im.From)
	default:
		fmt.Fprintf(&b, "# the base is the library image %q; imgctl builds FROM its pushed digest\nFROM %s\n", im.Parent, im.Parent)
	}
	_, hasPath := im.Env["PATH"]
	// A rootfs per platform renders the first platform's archive.
	first := "linux/amd64"
	if len(im.Platforms) > 0 {
		first = im.Platforms[0]
	}
	stps, err := steps(im, first, scratch && !hasPath)
	if err != nil {
		fmt.Fprintf(&b, "# error: %v\n", err)
		return b.String()
	}
	asRoot := false
	for _, s := range stps {
		if s.kind == kindShell && !asRoot {
			fmt.Fprintf(&b, "ARG SOURCE_DATE_EPOCH=%d\n", SourceDateEpoch)
			if !scratch {
				b.WriteString("# imgctl runs every step as root\nUSER 0:0\n")
			}
			asRoot = true
		}
		switch {
		case s.kind == kindShell && s.secret != "":
			fmt.Fprintf(&b, "RUN --mount=type=secret,id=%s,env=%s %s\n", s.secret, s.secretEnv, s.script)
		case s.kind == kindShell:
			fmt.Fprintf(&b, "RUN %s\n", s.script)
		default:
			b.WriteString(s.createdBy + "\n")
		}
	}
	if asRoot && !scratch && im.User == "" {
		b.WriteString("# imgctl restores the base image's user here\n")
	}
	return b.String()
}

// oneLine joins the lines of s with spaces.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
