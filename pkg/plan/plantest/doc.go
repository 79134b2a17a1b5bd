// Package plantest provides an in-memory registry implementing plan.Registry,
// and Apply, which publishes a plan into it the way imgctl publish would
// (without building), for tests of the planner.
package plantest
