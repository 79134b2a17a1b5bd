// Package publish applies a plan: it builds every image the plan builds, in
// graph order and concurrently where the graph allows, pushes each by digest,
// and only when every build has succeeded writes the dated tags, then latest
// and the moving tags, then marks superseded versions deprecated.
//
// Before building and again before writing any tag it re-reads every tag the
// plan observed and stops with ErrStalePlan if the registry moved. It never
// deletes or overwrites a dated tag and never changes a published manifest.
// It does not decide anything: decisions come from the plan package.
package publish
