// Package planbench measures what `imgctl plan` costs against a registry:
// the registry requests of plan.Observe, counted at the HTTP transport and
// per read kind (moving-tag resolves apart), and the time of each phase;
// and a peer that does the least a planner must (list tags, fetch the
// newest manifest and resolve the moving tags of every repository) with
// go-containerregistry directly.
//
// It reports numbers; it asserts nothing about time.
package planbench
