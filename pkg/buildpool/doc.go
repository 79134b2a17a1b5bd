// Package buildpool drives a pool of BuildKit daemons as one builder: it
// implements publish's Builder (and PlatformLister) over N single-daemon
// builders, choosing a daemon for every image and building it again on
// another daemon when the one it ran on is lost.
//
// Scheduling, per image: only daemons that are up and build every
// platform of the image are candidates; among those with a free slot
// (at most Jobs builds at a time per daemon) it takes the daemon that
// built the image's parent in this run (its local cache holds the
// parent's layers), unless another candidate runs at least Affinity+1
// fewer builds; otherwise the least busy (ties: fewest builds so far,
// then the order the daemons were given). When every candidate is full the
// image waits for a slot. Graph order is the caller's (publish starts a
// child when its parent is pushed); the registry build cache lets any
// daemon reuse the layers another built.
//
// Failover: when a build fails with anything but a failing step
// (*build.StepError) or the caller's cancelled context, the pool asks
// that daemon for its workers. A daemon that does not answer within the
// probe timeout is marked down for the rest of the run and the image is
// built again, from the start, on another suitable daemon; the build
// ends with ErrNoDaemon once none is left. A daemon that answers keeps
// its place and the error is returned as it is.
//
// Layers, outermost first: buildretry (re-solves a build after a
// transient registry error, through the pool, so possibly elsewhere) →
// buildpool (chooses the daemon, fails over when a daemon is lost) →
// build.Client (one daemon, one solve). ErrNoDaemon says it is permanent,
// so buildretry does not retry it.
//
// This package must not know how an image is built (that is pkg/build),
// plan anything, or read the registry; it must not retry a build whose
// daemon is still up (that is buildretry's job), and never retries a
// failing step elsewhere: that is the spec's fault.
package buildpool
