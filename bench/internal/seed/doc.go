// Package seed fills a registry, without building anything, so that every
// image of a library looks already published and unchanged: each image gets
// a tiny manifest carrying exactly the annotations imgctl publish writes
// (published.Annotations over the parent's seeded digest), its dated tag,
// latest and its moving tags.
//
// It is benchmark scaffolding: it writes to a registry and must never be
// pointed at a real one.
package seed
