// Package store builds typed REST storage for a resource from a few functions: validation,
// preparation, status handling and table columns. Every built-in registry uses it so that
// metadata validation, status subresources, generation and table output behave the same
// everywhere.
//
// It must not know about clusters; isolation lives in pkg/storage below it.
package store
