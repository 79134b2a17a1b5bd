// Package capacity is the capacity view of a library's size presets
// against its node pools (policy.nodePools): per preset and pool, how
// many sessions fit one node and the share of the node's CPU and memory
// left idle — what imgctl sizes prints, so IT keeps presets matched to
// the nodes they run on.
//
// It is a pure function of the specs: no registry, no cluster.
package capacity
