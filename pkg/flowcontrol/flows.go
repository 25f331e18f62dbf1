package flowcontrol

import (
	"context"

	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	"k8s.io/apiserver/pkg/authentication/user"
	utilflowcontrol "k8s.io/apiserver/pkg/util/flowcontrol"
	fq "k8s.io/apiserver/pkg/util/flowcontrol/fairqueuing"
	fcrequest "k8s.io/apiserver/pkg/util/flowcontrol/request"

	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// PerAccount wraps upstream's priority and fairness so that it classifies the requests of every
// account but root with account-qualified user names and namespaces. A user name that named
// reports as named by a FlowSchema's User subject stays as it is, so that the FlowSchema
// matches it in every account.
func PerAccount(fc utilflowcontrol.Interface, root cluster.ID, named func(string) bool) utilflowcontrol.Interface {
	return &perAccount{Interface: fc, root: root, named: named}
}

type perAccount struct {
	utilflowcontrol.Interface
	root  cluster.ID
	named func(string) bool
}

// Handle implements utilflowcontrol.Interface.
func (p *perAccount) Handle(ctx context.Context, digest utilflowcontrol.RequestDigest,
	noteFn func(fs *flowcontrolv1.FlowSchema, pl *flowcontrolv1.PriorityLevelConfiguration, flowDistinguisher string),
	workEstimator func() fcrequest.WorkEstimate, queueNoteFn fq.QueueNoteFn, execFn func()) {
	p.Interface.Handle(ctx, p.qualify(ctx, digest), noteFn, workEstimator, queueNoteFn, execFn)
}

// qualify returns the digest as priority and fairness should see it.
func (p *perAccount) qualify(ctx context.Context, d utilflowcontrol.RequestDigest) utilflowcontrol.RequestDigest {
	id, ok := cluster.FromContext(ctx)
	if !ok || id == p.root {
		return d
	}
	prefix := string(id) + "/"
	if d.User != nil && !p.named(d.User.GetName()) {
		d.User = &user.DefaultInfo{Name: prefix + d.User.GetName(), UID: d.User.GetUID(), Groups: d.User.GetGroups(), Extra: d.User.GetExtra()}
	}
	if d.RequestInfo != nil && d.RequestInfo.Namespace != "" {
		info := *d.RequestInfo
		info.Namespace = prefix + info.Namespace
		d.RequestInfo = &info
	}
	return d
}

var _ utilflowcontrol.Interface = &perAccount{}
