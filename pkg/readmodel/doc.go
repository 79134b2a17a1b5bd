// Package readmodel reads what a registry holds for imgctl, for the
// packages that only consume it: Remote adapts the registry client
// (regclient: one retry policy, the plain-HTTP guard) and the lifecycle
// markers (lifecycle) to the read interfaces that plan.Observe and
// status.Collect declare, so that neither the pure planner nor the report
// links a registry client of its own.
//
// It reads; it must not write, tag, mark or delete anything, and it holds
// no decisions (those are plan's).
package readmodel
