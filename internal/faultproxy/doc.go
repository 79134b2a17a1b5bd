// Package faultproxy is a fault-injecting reverse proxy for registry tests.
// It sits in front of a real registry (the in-process go-containerregistry
// registry or Debian's docker-registry, see package e2etest) and, by rules
// that tests set and replace while it runs, answers chosen requests with a
// 503 or 429, resets the connection, cuts a response body short or lets a
// request hang. A rule can fault a request before it reaches the registry
// or after the registry has handled it (the write landed, the client saw an
// error), which is what idempotence tests need. Draws are made from a
// seeded source, so a run can be repeated exactly.
//
// Without a matching rule it is a faithful registry proxy: bodies stream in
// both directions, HEAD, Content-Length and Docker-Content-Digest pass
// unchanged, and absolute Location and Link URLs that point at the registry
// are rewritten to point at the proxy, so clients following them (blob
// uploads on distribution) keep going through it.
//
// This package is for tests only. No production code path may import it; it
// lives under internal/ and only _test.go files and test helper packages
// (e2etest) use it. It must not contain imgctl logic or retry anything
// itself: it only breaks requests, so that the code under test has to
// recover.
package faultproxy
