// Package orchestration holds the rules of orchestration contexts that both their registry
// and their controller apply: when a member is ready (a CEL expression over the member, or the
// default of a Ready condition or a ready phase) and the dependency graph of the members
// (cycles, what a member waits for), and the accounts a selector member spans.
//
// It must not talk to the server: it only computes over objects it is given.
package orchestration
