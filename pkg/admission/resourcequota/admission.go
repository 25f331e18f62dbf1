// Package resourcequota enforces the object counts of ResourceQuotas per account and
// namespace, with upstream's semantics and messages: creating an object in a namespace whose
// quota counts its resource (count/<resource>.<group>, or configmaps, secrets, ...) adds one to
// the quota's status.used, by an optimistic update of the quota in the request's account, and
// is refused with 403 Forbidden when that would exceed status.hard. The counts themselves are
// kept by pkg/reconciler/resourcequota; a quota it has not counted yet refuses what it limits.
//
// It must not mutate the request's object and must not look at other accounts than the
// request's.
package resourcequota

import (
	"context"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/admission"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/accountmesh/accountmesh/pkg/authentication"
	"github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/quota"
)

// PluginName is the name of the plugin.
const PluginName = "AccountResourceQuota"

// maxConflicts bounds the retries of the optimistic update of one quota.
const maxConflicts = 5

// Clients returns core clients of an account.
type Clients interface {
	CoreV1(c string) corev1client.CoreV1Interface
}

// Plugin is the admission plugin.
type Plugin struct {
	*admission.Handler
	clients Clients

	mu sync.RWMutex
	// names holds the names of the quotas of each account and namespace, keyed by
	// client.ToClusterKey(account, "", namespace).
	names map[string]map[string]bool
}

var _ admission.ValidationInterface = &Plugin{}

// New returns the plugin; it writes quotas through clients and learns which exist from the
// handler of EventHandler.
func New(clients Clients) *Plugin {
	return &Plugin{Handler: admission.NewHandler(admission.Create), clients: clients, names: map[string]map[string]bool{}}
}

// EventHandler returns the event handler that tells the plugin which quotas exist, for an informer
// of every account's ResourceQuotas.
func (p *Plugin) EventHandler() cache.ResourceEventHandler {
	set := func(obj interface{}, present bool) {
		key, err := client.ClusterKey(obj)
		if err != nil {
			return
		}
		id, ns, name, err := client.SplitClusterKey(key)
		if err != nil {
			return
		}
		k := client.ToClusterKey(id, "", ns)
		p.mu.Lock()
		defer p.mu.Unlock()
		if present {
			if p.names[k] == nil {
				p.names[k] = map[string]bool{}
			}
			p.names[k][name] = true
			return
		}
		delete(p.names[k], name)
		if len(p.names[k]) == 0 {
			delete(p.names, k)
		}
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj interface{}) { set(obj, true) },
		UpdateFunc: func(_, obj interface{}) { set(obj, true) },
		DeleteFunc: func(obj interface{}) { set(obj, false) },
	}
}

func (p *Plugin) quotas(id cluster.ID, namespace string) []string {
	p.mu.RLock()
	defer p.mu.RUnlock()
	byName := p.names[client.ToClusterKey(id, "", namespace)]
	names := make([]string, 0, len(byName))
	for name := range byName {
		names = append(names, name)
	}
	return names
}

// Validate implements admission.ValidationInterface.
func (p *Plugin) Validate(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	ns := a.GetNamespace()
	if ns == "" || a.GetSubresource() != "" || authentication.IsServer(a.GetUserInfo()) {
		return nil
	}
	id, ok := cluster.FromContext(ctx)
	if !ok || id == cluster.Wildcard {
		return nil
	}
	names := p.quotas(id, ns)
	if len(names) == 0 {
		return nil
	}
	gr := a.GetResource().GroupResource()
	counted := quota.CountNames(gr.Resource, gr.Group)
	quotas := p.clients.CoreV1(string(id)).ResourceQuotas(ns)
	for _, name := range names {
		if err := charge(ctx, a, quotas, name, counted); err != nil {
			return err
		}
	}
	return nil
}

// charge adds one object to the counts of quota name that limit one of counted, unless that
// exceeds them; a dry run only checks.
func charge(ctx context.Context, a admission.Attributes, quotas corev1client.ResourceQuotaInterface, name string, counted []corev1.ResourceName) error {
	for range maxConflicts {
		q, err := quotas.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return apierrors.NewInternalError(fmt.Errorf("failed to read quota %q: %w", name, err))
		}
		changed := false
		for _, r := range counted {
			hard, limited := q.Spec.Hard[r]
			if !limited {
				continue
			}
			used, known := q.Status.Used[r]
			if !known {
				return admission.NewForbidden(a, fmt.Errorf("status unknown for quota: %s, resource: %s", name, r))
			}
			next := used.DeepCopy()
			next.Add(*resource.NewQuantity(1, resource.DecimalSI))
			if next.Cmp(hard) > 0 {
				return admission.NewForbidden(a, fmt.Errorf("exceeded quota: %s, requested: %s=1, used: %s=%s, limited: %s=%s",
					name, r, r, used.String(), r, hard.String()))
			}
			q.Status.Used[r] = next
			changed = true
		}
		if !changed || a.IsDryRun() {
			return nil
		}
		_, err = quotas.UpdateStatus(ctx, q, metav1.UpdateOptions{})
		if err == nil {
			return nil
		}
		if !apierrors.IsConflict(err) {
			return apierrors.NewInternalError(fmt.Errorf("failed to charge quota %q: %w", name, err))
		}
	}
	return admission.NewForbidden(a, fmt.Errorf("failed to charge quota %s: too many concurrent changes, try again", name))
}
