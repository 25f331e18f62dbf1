// Package initializer holds the built-in initializers of accounts: the default namespace, the
// owner's admin binding and the type's default resources. The account controller runs them and
// removes their names from status.initializers in the same write that marks the account Ready.
//
// Other initializers are external controllers: one watches Accounts (across all accounts with
// /clusters/*), acts on those whose status.initializers holds its name, works in the new
// account at /clusters/<status.clusterID>, and removes its name with a JSON patch on the
// Account's status subresource in the parent that tests the list first, so that concurrent
// initializers never lose each other's updates. Terminators work the same way on
// status.terminators once the account is being deleted.
//
// It must not decide when an account is Ready; the account controller does.
package initializer
