package validatingpolicy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/plugin/policy/generic"
	"k8s.io/apiserver/pkg/admission/plugin/policy/matching"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/client-go/tools/cache"
	"k8s.io/component-helpers/auth/rbac/validation"

	"github.com/accountmesh/accountmesh/pkg/admission/accountns"
	"github.com/accountmesh/accountmesh/pkg/admission/reviews"
	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/authentication"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// PluginName is the name of the plugin.
const PluginName = "AccountValidatingAdmissionPolicy"

// readyTimeout is how long a request waits for the index to sync, as upstream's plugin waits.
const readyTimeout = 10 * time.Second

// exempt are the resources no policy checks: the policy resources themselves (so that no
// policy locks its admin out), and the reviews that store nothing, as upstream excludes them.
var exempt = reviews.Resources().Insert(
	admissionregistrationv1.Resource("validatingadmissionpolicies"),
	admissionregistrationv1.Resource("validatingadmissionpolicybindings"),
	admissionregistrationv1.Resource("mutatingadmissionpolicies"),
	admissionregistrationv1.Resource("mutatingadmissionpolicybindings"),
	admissionregistrationv1.Resource("validatingwebhookconfigurations"),
	admissionregistrationv1.Resource("mutatingwebhookconfigurations"),
)

// Rules returns the rules a user holds in an account; with inheritedOnly, only those held
// through inherited bindings, which hold in every account below too.
type Rules interface {
	RulesFor(u user.Info, id cluster.ID, namespace string, inheritedOnly bool) []rbacv1.PolicyRule
}

// Plugin is the admission plugin.
type Plugin struct {
	*admission.Handler
	index      *Index
	rules      Rules
	authz      authorizer.UnconditionalAuthorizer
	namespaces accountns.Cache
	core       accountns.Clients
	synced     func() bool
}

var _ admission.ValidationInterface = &Plugin{}

// New returns the plugin over index. Policies' authorizer checks are decided by authz; rules
// tell who may write inherited bindings; namespace selectors read namespaces and core; synced
// reports whether the index has its first lists.
func New(index *Index, authz authorizer.UnconditionalAuthorizer, rules Rules, namespaces accountns.Cache, core accountns.Clients, synced func() bool) *Plugin {
	return &Plugin{
		Handler: admission.NewHandler(admission.Create, admission.Update, admission.Delete, admission.Connect),
		index:   index, authz: authz, rules: rules, namespaces: namespaces, core: core, synced: synced,
	}
}

// Validate implements admission.ValidationInterface.
func (p *Plugin) Validate(ctx context.Context, a admission.Attributes, o admission.ObjectInterfaces) error {
	id, ok := cluster.FromContext(ctx)
	if !ok || id == cluster.Wildcard {
		return nil
	}
	if b, ok := a.GetObject().(*admissionregistrationv1.ValidatingAdmissionPolicyBinding); ok && a.GetSubresource() == "" {
		return p.checkInherited(a, id, b)
	}
	// The server's in-process controllers keep every account's built-in content (the default
	// namespace, ServiceAccounts, CA bundles) and delete what is deleted; what the server does on
	// a user's behalf impersonates the user and is checked.
	if exempt.Has(a.GetResource().GroupResource()) || authentication.IsServer(a.GetUserInfo()) {
		return nil
	}
	if !p.waitForSync(ctx) {
		return admission.NewForbidden(a, errors.New("not yet ready to handle request"))
	}
	hooks := p.index.Hooks(id)
	// An export's policies see requests on the export's resources only, whatever their match
	// says: a provider polices its API, never the consumer's other objects.
	if exported := p.index.ExportHooksFor(id, a.GetResource().GroupResource()); len(exported) > 0 {
		hooks = slices.Concat(hooks, exported)
	}
	if len(hooks) == 0 {
		return nil
	}
	m := matching.NewMatcher(accountns.Lister(p.namespaces, id), accountns.Client(p.core, id))
	return validating.NewDispatcher(p.authz, generic.NewPolicyMatcher(m)).Dispatch(ctx, a, o, hooks)
}

// checkInherited refuses to write a binding labelled to apply below its account unless the
// caller may write bindings through inherited grants, as an inherited ClusterRoleBinding must be
// covered by them: a grant that stops at one account must not impose policies on the accounts
// below it.
func (p *Plugin) checkInherited(a admission.Attributes, id cluster.ID, b *admissionregistrationv1.ValidatingAdmissionPolicyBinding) error {
	u := a.GetUserInfo()
	if !Inherited(b) || u == nil {
		return nil
	}
	verb := "create"
	if a.GetOperation() == admission.Update {
		verb = "update"
	}
	held, _ := validation.Covers(p.rules.RulesFor(u, id, "", true), []rbacv1.PolicyRule{{
		Verbs: []string{verb}, APIGroups: []string{admissionregistrationv1.GroupName},
		Resources: []string{"validatingadmissionpolicybindings"}, ResourceNames: []string{b.Name},
	}})
	if held {
		return nil
	}
	return admission.NewForbidden(a, fmt.Errorf("a binding labelled %s=true applies in every account below this one: "+
		"%s it needs that right through inherited bindings", corev1alpha1.InheritLabel, verb))
}

func (p *Plugin) waitForSync(ctx context.Context) bool {
	if p.synced() {
		return true
	}
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	return cache.WaitForCacheSync(ctx.Done(), p.synced)
}
