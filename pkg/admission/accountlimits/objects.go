package accountlimits

import (
	"context"
	"fmt"

	"k8s.io/apiserver/pkg/admission"

	"github.com/accountmesh/accountmesh/pkg/admission/reviews"
	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/authentication"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/objectcount"
)

// PlatformFlag is the server flag that sets the platform's default limit on the objects of an
// account.
const PlatformFlag = "--default-max-objects-per-account"

// storeNothing are the resources whose creation stores no object.
var storeNothing = reviews.Resources()

// Counter counts the objects of accounts and says their limits.
type Counter interface {
	Limit(ctx context.Context, id cluster.ID) (objectcount.Limit, bool)
	Count(id cluster.ID) int64
	Reserve(id cluster.ID, limit objectcount.Limit, enforce bool) (int64, bool)
}

// Objects is the admission plugin that counts every object created in an account and refuses
// the creation, with 403 Forbidden, when the account stores as many as its effective
// maxObjects. It comes last in the chain, so that only creations every other plugin admitted are
// counted. The server's own in-process controllers, which keep every account's built-in
// content, are counted but never refused.
type Objects struct {
	*admission.Handler
	counter Counter
	index   Index
}

var _ admission.ValidationInterface = &Objects{}

// NewObjects returns the plugin over counter; index names accounts in messages.
func NewObjects(counter Counter, index Index) *Objects {
	return &Objects{Handler: admission.NewHandler(admission.Create), counter: counter, index: index}
}

// Validate implements admission.ValidationInterface.
func (p *Objects) Validate(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	id, ok := cluster.FromContext(ctx)
	if !ok || id == cluster.Wildcard || a.GetSubresource() != "" || storeNothing.Has(a.GetResource().GroupResource()) {
		return nil
	}
	l, limited := p.counter.Limit(ctx, id)
	enforce := limited && !authentication.IsServer(a.GetUserInfo())
	if a.IsDryRun() {
		if used := p.counter.Count(id); enforce && used+1 > l.Value {
			return p.objectsExceeded(a, id, l, used)
		}
		return nil
	}
	if used, ok := p.counter.Reserve(id, l, enforce); !ok {
		objectcount.Rejected(l.Source)
		return p.objectsExceeded(a, id, l, used)
	}
	return nil
}

func (p *Objects) objectsExceeded(a admission.Attributes, id cluster.ID, l objectcount.Limit, used int64) error {
	var by string
	switch l.Source {
	case corev1alpha1.LimitSourceAccountType:
		by = fmt.Sprintf("account type %s of account %s", l.Type, path(p.index, l.SetBy))
	case corev1alpha1.LimitSourcePlatform:
		by = "the platform (" + PlatformFlag + ")"
	default:
		by = "account " + path(p.index, l.SetBy)
	}
	return admission.NewForbidden(a, fmt.Errorf("exceeded account limit maxObjects=%d set by %s: %s stores %d objects", l.Value, by, path(p.index, id), used))
}
