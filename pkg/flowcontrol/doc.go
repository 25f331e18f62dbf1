// Package flowcontrol gives API priority and fairness its meaning in an account tree: requests
// of different accounts are different flows, and the platform's configuration lives in the root
// account.
//
// Upstream's filter tells flows apart by user name or namespace, and matches FlowSchemas by
// user name, groups and namespace. PerAccount makes both account-qualified for every account
// but the root: a user name becomes "<account-id>/<name>" and a namespace "<account-id>/<ns>".
// So one account's flood queues behind its own flows only, and no tenant can claim the
// platform's schemas by naming a user, a ServiceAccount or a namespace like the platform's
// (kube-system's ServiceAccounts, system:kube-scheduler). Groups are left as they are: the
// default schemas match system:authenticated and system:serviceaccounts. A user name that a
// FlowSchema names in a User subject is left as it is too: the platform admin who wrote it
// meant that user wherever it calls from, as upstream's tests and tools expect. UserSubjects
// keeps that set of names.
//
// Ensure writes upstream's mandatory and suggested configuration into the root account.
package flowcontrol
