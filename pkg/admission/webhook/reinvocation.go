package webhook

import (
	"context"

	"k8s.io/apiserver/pkg/admission"
)

// WithReinvocation returns chain run as upstream's admission chains are: when a mutating
// webhook with reinvocationPolicy IfNeeded was called and a later plugin changed the object,
// the mutating phase runs once more, marked as a reinvocation (upstream's plugins then call
// only the webhooks that asked for it; every other plugin must be idempotent, as upstream
// requires).
func WithReinvocation(chain admission.Interface) admission.Interface {
	return reinvoking{chain}
}

type reinvoking struct {
	admission.Interface
}

var (
	_ admission.MutationInterface   = reinvoking{}
	_ admission.ValidationInterface = reinvoking{}
)

// Admit implements admission.MutationInterface.
func (r reinvoking) Admit(ctx context.Context, a admission.Attributes, o admission.ObjectInterfaces) error {
	m, ok := r.Interface.(admission.MutationInterface)
	if !ok {
		return nil
	}
	if err := m.Admit(ctx, a, o); err != nil {
		return err
	}
	if rc := a.GetReinvocationContext(); rc.ShouldReinvoke() {
		rc.SetIsReinvoke()
		return m.Admit(ctx, a, o)
	}
	return nil
}

// Validate implements admission.ValidationInterface.
func (r reinvoking) Validate(ctx context.Context, a admission.Attributes, o admission.ObjectInterfaces) error {
	if v, ok := r.Interface.(admission.ValidationInterface); ok {
		return v.Validate(ctx, a, o)
	}
	return nil
}
