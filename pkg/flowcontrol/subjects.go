package flowcontrol

import (
	"sync/atomic"

	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	"k8s.io/apimachinery/pkg/labels"
	flowcontrollisters "k8s.io/client-go/listers/flowcontrol/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
)

// UserSubjects is the set of user names that FlowSchemas name in User subjects ("*" aside).
type UserSubjects struct {
	lister flowcontrollisters.FlowSchemaLister
	names  atomic.Pointer[map[string]struct{}]
}

// NewUserSubjects keeps the set of an informer of FlowSchemas.
func NewUserSubjects(informer cache.SharedIndexInformer) (*UserSubjects, error) {
	u := &UserSubjects{lister: flowcontrollisters.NewFlowSchemaLister(informer.GetIndexer())}
	u.names.Store(&map[string]struct{}{})
	recompute := func(any) { u.recompute() }
	_, err := informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    recompute,
		UpdateFunc: func(_, obj any) { recompute(obj) },
		DeleteFunc: recompute,
	})
	return u, err
}

// Named reports whether a FlowSchema names user.
func (u *UserSubjects) Named(user string) bool {
	_, ok := (*u.names.Load())[user]
	return ok
}

func (u *UserSubjects) recompute() {
	schemas, err := u.lister.List(labels.Everything())
	if err != nil {
		klog.Background().Error(err, "Failed to list FlowSchemas")
		return
	}
	names := map[string]struct{}{}
	for _, fs := range schemas {
		for _, rule := range fs.Spec.Rules {
			for _, s := range rule.Subjects {
				if s.Kind == flowcontrolv1.SubjectKindUser && s.User != nil && s.User.Name != flowcontrolv1.NameAll {
					names[s.User.Name] = struct{}{}
				}
			}
		}
	}
	u.names.Store(&names)
}
