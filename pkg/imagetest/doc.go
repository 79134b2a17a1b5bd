// Package imagetest runs shell commands inside a published image through
// BuildKit, the way the image's user meets it: as the image's configured
// user, in its working directory, with its environment, on the daemon's
// default network (the host's, for a daemon without CNI, so package
// indexes served on loopback answer, as they do for build steps). Nothing
// is exported or pushed and nothing is cached: every run runs.
//
// It is the runner behind checks of published images (the end-to-end
// checks of the example library, and tests that gate tags). It must not
// build, tag or push images, and it reads nothing from the registry but
// the image config.
package imagetest
