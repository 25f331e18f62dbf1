// Package initializer runs initializers and terminators: one controller per name, each
// watching the Accounts whose status still lists its name, doing its work in the account
// through the API and then removing its name, with a precondition on the list so that
// concurrent initializers never lose each other's updates. It also holds the built-in
// initializers: the default namespace, the owner's admin binding and the type's default
// resources.
//
// An external initializer works the same way: it watches Accounts (across all accounts with
// /clusters/*), acts on those whose status.initializers holds its name, works in the new account
// at /clusters/<status.clusterID>, and removes its name by patching the Account's status in
// the parent account.
//
// It must not decide when an account is Ready; the account controller does.
package initializer
