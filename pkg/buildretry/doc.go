// Package buildretry solves a build again when it failed for a reason that
// passes: the registry answered 429 or 5xx, or the connection was reset,
// while BuildKit pulled a base or pushed the image. BuildKit's cache makes
// the second solve cheap: finished steps are not run again.
//
// It is a decorator around any builder (publish's Builder interface). It
// classifies each error once: a failing step of the spec (a RUN that
// exits non-zero), a denied or missing image, or a cancelled context fails
// at once. It must not know how builds are made, and must not retry
// anything but a whole build.
package buildretry
