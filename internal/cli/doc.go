// Package cli holds imgctl's cobra commands: it parses flags, calls the load,
// plan, build and publish packages, and turns their results and errors into
// text, JSON and exit codes.
//
// It must not contain planning or build logic, and it is the only place that
// formats a spec error as "file:line:col: message".
package cli
