// Package objectcount counts the objects each account stores, of all resources, and says the
// effective limit on them: the smallest maxObjects set by the Account objects of the account and
// its ancestors, by its AccountType (and the types it extends) and by the platform's default.
// The root account has none.
//
// Counting is cheap on a request: a count per account in memory is the last recount plus the
// creations admitted since (Reserve); every interval (Run) the server counts again, reading
// the keys only (not the values) of everything stored under the etcd prefix, at one revision,
// in pages. Deletions free their slots at the next recount, and creations admitted while a
// recount runs are counted twice until the one after: the count errs high, never low, except
// for what is stored without admission (objects the server writes to storage directly, which
// the next recount sees) and, with several replicas, what the others admitted since the last
// recount (each replica keeps its own count).
//
// Metrics carry no account: totals, the largest account, and the number of accounts by how
// close they are to their limit.
//
// It must not serve or change objects; it reads etcd keys and the account tree only.
package objectcount
