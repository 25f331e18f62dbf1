package webhook

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/generic"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/mutating"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/validating"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	webhookutil "k8s.io/apiserver/pkg/util/webhook"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/component-helpers/auth/rbac/validation"

	"github.com/accountmesh/accountmesh/pkg/admission/accountns"
	"github.com/accountmesh/accountmesh/pkg/admission/reviews"
	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/authentication"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// PluginName is the name of the plugin.
const PluginName = "AccountAdmissionWebhook"

const (
	// AccountPathExtraKey is the user extra of every AdmissionReview the server sends: the path
	// of the account the request is made in, e.g. root:acme:team-a.
	AccountPathExtraKey = "accountmesh.io/account-path"
	// AccountIDExtraKey is the user extra of every AdmissionReview the server sends: the
	// cluster ID of the account the request is made in.
	AccountIDExtraKey = "accountmesh.io/account-id"
)

// readyTimeout is how long a request waits for the index to sync, as upstream's plugins wait.
const readyTimeout = 10 * time.Second

// exempt are the reviews that store nothing, which no webhook sees (upstream's
// ExcludeAdmissionWebhookVirtualResources); the admission configuration resources themselves
// are exempt in upstream's plugins already.
var exempt = reviews.Resources()

// Accounts names the accounts.
type Accounts interface {
	Lookup(id cluster.ID) (cluster.Entry, bool)
}

// Rules returns the rules a user holds in an account; with inheritedOnly, only those held
// through inherited bindings.
type Rules interface {
	RulesFor(u user.Info, id cluster.ID, namespace string, inheritedOnly bool) []rbacv1.PolicyRule
}

// Config is what the plugin is built from.
type Config struct {
	Index    *Index
	Accounts Accounts
	// Authorizer decides matchConditions' authorizer checks.
	Authorizer authorizer.UnconditionalAuthorizer
	// Rules tell who may write configurations that flow down.
	Rules      Rules
	Namespaces accountns.Cache
	Core       accountns.Clients
	// Egress decides which addresses webhooks may reach.
	Egress Egress
	// Synced reports whether the index has its first lists.
	Synced func() bool
}

// Plugin calls the admission webhooks of the request's account and those its ancestors
// label to flow down, mutating ones in the mutating phase and validating ones in the
// validating phase, with upstream's webhook plugins and dispatchers.
type Plugin struct {
	*admission.Handler
	c Config

	// plugins holds an account's upstream plugins (*accountPlugins) for the index's
	// generation; cleared records the generation they were last dropped at.
	plugins sync.Map
	cleared atomic.Uint64
}

var (
	_ admission.MutationInterface   = &Plugin{}
	_ admission.ValidationInterface = &Plugin{}
)

// accountPlugins are upstream's plugins over the configurations that apply in one account;
// nil when none do.
type accountPlugins struct {
	generation uint64
	mutating   *mutating.Plugin
	validating *validating.Plugin
}

// New returns the plugin.
func New(c Config) *Plugin {
	return &Plugin{Handler: admission.NewHandler(admission.Create, admission.Update, admission.Delete, admission.Connect), c: c}
}

// Admit implements admission.MutationInterface: it calls the mutating webhooks.
func (p *Plugin) Admit(ctx context.Context, a admission.Attributes, o admission.ObjectInterfaces) error {
	ps, attrs, err := p.forRequest(ctx, a)
	if err != nil || ps == nil || ps.mutating == nil {
		return err
	}
	return ps.mutating.Admit(ctx, attrs, o)
}

// Validate implements admission.ValidationInterface: it checks writes of configurations that
// flow down and calls the validating webhooks.
func (p *Plugin) Validate(ctx context.Context, a admission.Attributes, o admission.ObjectInterfaces) error {
	if err := p.checkInherited(ctx, a); err != nil {
		return err
	}
	ps, attrs, err := p.forRequest(ctx, a)
	if err != nil || ps == nil || ps.validating == nil {
		return err
	}
	return ps.validating.Validate(ctx, attrs, o)
}

// forRequest returns the plugins of the request's account, nil when no webhook can apply,
// and the attributes to call them with.
func (p *Plugin) forRequest(ctx context.Context, a admission.Attributes) (*accountPlugins, admission.Attributes, error) {
	id, ok := cluster.FromContext(ctx)
	if !ok || id == cluster.Wildcard {
		return nil, nil, nil
	}
	// The server's in-process controllers keep every account's built-in content; what the
	// server does on a user's behalf impersonates the user and is checked.
	if exempt.Has(a.GetResource().GroupResource()) || authentication.IsServer(a.GetUserInfo()) {
		return nil, nil, nil
	}
	if !p.waitForSync(ctx) {
		return nil, nil, admission.NewForbidden(a, errors.New("not yet ready to handle request"))
	}
	ps, err := p.pluginsOf(id)
	if err != nil {
		return nil, nil, apierrors.NewInternalError(err)
	}
	if ps.mutating == nil && ps.validating == nil {
		return nil, nil, nil
	}
	acc, ok := p.c.Accounts.Lookup(id)
	if !ok {
		// Webhooks apply but the account cannot be named to them: refuse, never skip them.
		return nil, nil, admission.NewForbidden(a, errors.New("not yet ready to handle request"))
	}
	return ps, withAccount(a, acc), nil
}

// pluginsOf returns the plugins of account id at the index's current generation.
func (p *Plugin) pluginsOf(id cluster.ID) (*accountPlugins, error) {
	gen := p.c.Index.Generation()
	if last := p.cleared.Load(); last != gen && p.cleared.CompareAndSwap(last, gen) {
		p.plugins.Clear()
	}
	if v, ok := p.plugins.Load(id); ok && v.(*accountPlugins).generation == gen {
		return v.(*accountPlugins), nil
	}
	ps, err := p.build(id, gen)
	if err != nil {
		return nil, err
	}
	p.plugins.Store(id, ps)
	return ps, nil
}

// build makes upstream's plugins over the configurations that apply in account id, renamed so
// that no two accounts' names meet.
func (p *Plugin) build(id cluster.ID, gen uint64) (*accountPlugins, error) {
	ps := &accountPlugins{generation: gen}
	vs, ms := p.c.Index.Effective(id)
	if len(vs) == 0 && len(ms) == 0 {
		return ps, nil
	}
	validatingConfigs := make([]*admissionregistrationv1.ValidatingWebhookConfiguration, len(vs))
	for i, s := range vs {
		c := *s.Object
		c.Name = uniqueName(i, s.Account, c.Name)
		validatingConfigs[i] = &c
	}
	mutatingConfigs := make([]*admissionregistrationv1.MutatingWebhookConfiguration, len(ms))
	for i, s := range ms {
		c := *s.Object
		c.Name = uniqueName(i, s.Account, c.Name)
		mutatingConfigs[i] = &c
	}
	f, err := newFrozenInformers(accountns.Lister(p.c.Namespaces, id), validatingConfigs, mutatingConfigs)
	if err != nil {
		return nil, fmt.Errorf("failed to index webhook configurations: %w", err)
	}
	if len(vs) > 0 {
		if ps.validating, err = validating.NewValidatingAdmissionWebhook(nil); err != nil {
			return nil, fmt.Errorf("failed to create validating webhook plugin: %w", err)
		}
		if err := p.setUp(ps.validating.Webhook, id, f); err != nil {
			return nil, err
		}
	}
	if len(ms) > 0 {
		if ps.mutating, err = mutating.NewMutatingWebhook(nil); err != nil {
			return nil, fmt.Errorf("failed to create mutating webhook plugin: %w", err)
		}
		if err := p.setUp(ps.mutating.Webhook, id, f); err != nil {
			return nil, err
		}
	}
	return ps, nil
}

// setUp wires one of upstream's plugins for account id: webhooks are called by URL only,
// without credentials, through the egress dialer; namespaces are the account's.
func (p *Plugin) setUp(w *generic.Webhook, id cluster.ID, f *frozenInformers) error {
	egress := p.c.Egress
	w.SetAuthenticationInfoResolverWrapper(func(webhookutil.AuthenticationInfoResolver) webhookutil.AuthenticationInfoResolver {
		return &webhookutil.AuthenticationInfoResolverDelegator{
			ClientConfigForFunc: func(string) (*rest.Config, error) {
				return &rest.Config{Dial: egress.DialContext}, nil
			},
			ClientConfigForServiceFunc: func(string, string, int) (*rest.Config, error) {
				return nil, errNoServices
			},
		}
	})
	w.SetServiceResolver(noServices{})
	w.SetExternalKubeClientSet(accountns.Client(p.c.Core, id))
	w.SetExternalKubeInformerFactory(f)
	w.SetUnconditionalAuthorizer(p.c.Authorizer)
	if err := w.ValidateInitialization(); err != nil {
		return fmt.Errorf("failed to initialize webhook plugin: %w", err)
	}
	return nil
}

// checkInherited refuses to write a configuration labelled to apply below its account unless
// the caller may write it through inherited grants, as an inherited ClusterRoleBinding must be
// covered by them: a grant that stops at one account must not impose webhooks on the accounts
// below it.
func (p *Plugin) checkInherited(ctx context.Context, a admission.Attributes) error {
	switch a.GetObject().(type) {
	case *admissionregistrationv1.ValidatingWebhookConfiguration, *admissionregistrationv1.MutatingWebhookConfiguration:
	default:
		return nil
	}
	obj, err := meta.Accessor(a.GetObject())
	u := a.GetUserInfo()
	id, ok := cluster.FromContext(ctx)
	if err != nil || !ok || u == nil || a.GetSubresource() != "" || !Inherited(obj) {
		return nil
	}
	verb := "create"
	if a.GetOperation() == admission.Update {
		verb = "update"
	}
	held, _ := validation.Covers(p.c.Rules.RulesFor(u, id, "", true), []rbacv1.PolicyRule{{
		Verbs: []string{verb}, APIGroups: []string{admissionregistrationv1.GroupName},
		Resources: []string{a.GetResource().Resource}, ResourceNames: []string{obj.GetName()},
	}})
	if held {
		return nil
	}
	return admission.NewForbidden(a, fmt.Errorf("a configuration labelled %s=true applies in every account below this one: "+
		"%s it needs that right through inherited bindings", corev1alpha1.InheritLabel, verb))
}

func (p *Plugin) waitForSync(ctx context.Context) bool {
	if p.c.Synced() {
		return true
	}
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	return cache.WaitForCacheSync(ctx.Done(), p.c.Synced)
}

// accountAttributes are a request's attributes whose user carries the account in its extra,
// so that the AdmissionReview tells the webhook which account the request is made in. Every
// other attribute, the object the mutating webhooks patch included, is the request's.
type accountAttributes struct {
	admission.Attributes
	user user.Info
}

// GetUserInfo implements admission.Attributes.
func (a *accountAttributes) GetUserInfo() user.Info { return a.user }

// withAccount returns a's attributes with the account's path and cluster ID in the user's
// extra, replacing whatever the user's credentials said of them.
func withAccount(a admission.Attributes, acc cluster.Entry) admission.Attributes {
	u := &user.DefaultInfo{}
	if orig := a.GetUserInfo(); orig != nil {
		u.Name, u.UID, u.Groups = orig.GetName(), orig.GetUID(), orig.GetGroups()
		u.Extra = maps.Clone(orig.GetExtra())
	}
	if u.Extra == nil {
		u.Extra = map[string][]string{}
	}
	u.Extra[AccountPathExtraKey] = []string{acc.Path}
	u.Extra[AccountIDExtraKey] = []string{string(acc.ID)}
	return &accountAttributes{Attributes: a, user: u}
}

var errNoServices = errors.New("there are no Services: webhooks are called by clientConfig.url")

// noServices resolves no Service: configurations cannot name one.
type noServices struct{}

// ResolveEndpoint implements webhookutil.ServiceResolver.
func (noServices) ResolveEndpoint(string, string, int32) (*url.URL, error) { return nil, errNoServices }
