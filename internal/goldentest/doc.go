// Package goldentest compares output with golden files under testdata/,
// rewriting them when tests run with -update. It is for tests only.
package goldentest
