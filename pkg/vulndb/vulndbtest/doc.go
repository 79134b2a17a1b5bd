// Package vulndbtest makes vulnerability feeds for tests: OSV records in
// per-ecosystem archives laid out as vulndb.LoadDir reads them.
//
// It is test support only: production code must not import it.
package vulndbtest
