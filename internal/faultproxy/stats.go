package faultproxy

import (
	"fmt"
	"slices"
	"strings"
)

// Stats is a snapshot of what a proxy has seen, for assertions and test
// failure messages (its String method prints everything).
type Stats struct {
	// Requests is the number of requests the proxy has received.
	Requests int
	// Faults is the number of faults it has injected, by all rules.
	Faults int
	// Rules are the rules in force, in order, with their counters since
	// they were set.
	Rules []RuleStats
	// Log has one Event per request received, in arrival order.
	Log []Event
}

// RuleStats counts what one rule did.
type RuleStats struct {
	Rule Rule
	// Matched counts the requests whose method and path the rule
	// matched, whether it fired or not.
	Matched int
	// Faulted counts the faults it injected.
	Faulted int
}

// Event records one request the proxy received.
type Event struct {
	Method string
	Path   string
	// Fault is the fault injected, or 0 if the request was passed
	// through.
	Fault Fault
	// Phase is when the fault was injected (After for TruncateBody).
	Phase Phase
	// Rule is the index of the rule that injected the fault, within the
	// rules in force at the time, or -1.
	Rule int
	// Status is the registry's response status, or 0 if the request was
	// not forwarded or the registry did not answer.
	Status int
	// Err is the error forwarding the request, if any.
	Err string
}

// String formats the event as one line, e.g.
// "PUT /v2/a/manifests/v1 -> 201, fault 503 after (rule 0)".
func (e Event) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", e.Method, e.Path)
	switch {
	case e.Err != "":
		fmt.Fprintf(&b, " -> error: %s", e.Err)
	case e.Status != 0:
		fmt.Fprintf(&b, " -> %d", e.Status)
	}
	if e.Fault != 0 {
		sep := ","
		if e.Status == 0 && e.Err == "" {
			sep = " ->"
		}
		fmt.Fprintf(&b, "%s fault %s %s (rule %d)", sep, e.Fault, e.Phase, e.Rule)
	}
	return b.String()
}

// String formats the stats over several lines: the counts, each rule and
// the log.
func (s Stats) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "faultproxy: %d requests, %d faults\n", s.Requests, s.Faults)
	for i, r := range s.Rules {
		fmt.Fprintf(&b, "rule %d: %s: %d matched, %d faulted\n", i, r.Rule, r.Matched, r.Faulted)
	}
	for _, e := range s.Log {
		fmt.Fprintf(&b, "  %s\n", e)
	}
	return b.String()
}

// Stats returns a snapshot of the proxy's counters and log.
func (p *Proxy) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := Stats{Requests: p.requests, Faults: p.faults, Log: slices.Clone(p.log)}
	for _, r := range p.rules {
		s.Rules = append(s.Rules, RuleStats{Rule: r.Rule, Matched: r.matched, Faulted: r.faulted})
	}
	return s
}
