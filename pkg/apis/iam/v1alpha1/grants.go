package v1alpha1

// GrantBindingPrefix starts the names of the ClusterRoleBindings that hold the grants of an
// account, one per ClusterRole and one more per ClusterRole for grants inherited below: what
// `kubectl mesh grant`, the console and accepted Invites add subjects to.
const GrantBindingPrefix = "accountmesh:grant:"

// GrantBindingName is the ClusterRoleBinding that holds the grants of role in an account,
// and with inherit those that apply below it too (the binding is then labelled
// accountmesh.io/inherit=true).
func GrantBindingName(role string, inherit bool) string {
	if inherit {
		return GrantBindingPrefix + role + ":inherited"
	}
	return GrantBindingPrefix + role
}
