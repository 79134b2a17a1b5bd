// Package poolsim simulates a publish on a pool of BuildKit daemons: the
// graph order of publish (an image starts when its parent is pushed, in
// the order images became ready) and the daemon choice of pkg/buildpool
// (buildpool.Choose: the parent's daemon, else the least busy; at most
// Jobs builds per daemon), with per-image build times measured on a real
// daemon. It is an event simulation with processor sharing: a daemon with
// Cores cores runs k builds each at min(1, Cores/k) of full speed, and a
// build on another daemon than its parent's first pulls the parent (Pull
// seconds).
//
// It is for bench/cmd/poolsim and docs/performance.md; it must not be used
// by imgctl itself.
package poolsim
