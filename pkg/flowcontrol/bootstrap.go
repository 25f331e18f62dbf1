package flowcontrol

import (
	"context"
	"fmt"

	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/apis/flowcontrol/bootstrap"
	flowcontrolclient "k8s.io/client-go/kubernetes/typed/flowcontrol/v1"
)

// Ensure writes upstream's bootstrap configuration with c, as kube-apiserver does at start-up:
// the mandatory objects (exempt, catch-all) are created or restored; the suggested ones are
// created when missing and updated when they carry the auto-update annotation set to "true".
func Ensure(ctx context.Context, c flowcontrolclient.FlowcontrolV1Interface) error {
	// Priority levels first: a FlowSchema that names a missing level is dangling.
	for _, pl := range bootstrap.MandatoryPriorityLevelConfigurations {
		if err := ensurePriorityLevel(ctx, c, pl, true); err != nil {
			return err
		}
	}
	for _, pl := range bootstrap.SuggestedPriorityLevelConfigurations {
		if err := ensurePriorityLevel(ctx, c, pl, false); err != nil {
			return err
		}
	}
	for _, fs := range bootstrap.MandatoryFlowSchemas {
		if err := ensureFlowSchema(ctx, c, fs, true); err != nil {
			return err
		}
	}
	for _, fs := range bootstrap.SuggestedFlowSchemas {
		if err := ensureFlowSchema(ctx, c, fs, false); err != nil {
			return err
		}
	}
	return nil
}

func ensurePriorityLevel(ctx context.Context, c flowcontrolclient.FlowcontrolV1Interface, want *flowcontrolv1.PriorityLevelConfiguration, mandatory bool) error {
	plc := c.PriorityLevelConfigurations()
	var got *flowcontrolv1.PriorityLevelConfiguration
	return ensure("priority level", want.Name, mandatory, want.Spec,
		func() (metav1.Object, any, error) {
			var err error
			if got, err = plc.Get(ctx, want.Name, metav1.GetOptions{}); err != nil {
				return nil, nil, err
			}
			return got, got.Spec, nil
		},
		func() error {
			_, err := plc.Create(ctx, want.DeepCopy(), metav1.CreateOptions{})
			return err
		},
		func() error {
			u := got.DeepCopy()
			u.Spec = *want.Spec.DeepCopy()
			_, err := plc.Update(ctx, u, metav1.UpdateOptions{})
			return err
		})
}

func ensureFlowSchema(ctx context.Context, c flowcontrolclient.FlowcontrolV1Interface, want *flowcontrolv1.FlowSchema, mandatory bool) error {
	fsc := c.FlowSchemas()
	var got *flowcontrolv1.FlowSchema
	return ensure("flow schema", want.Name, mandatory, want.Spec,
		func() (metav1.Object, any, error) {
			var err error
			if got, err = fsc.Get(ctx, want.Name, metav1.GetOptions{}); err != nil {
				return nil, nil, err
			}
			return got, got.Spec, nil
		},
		func() error {
			_, err := fsc.Create(ctx, want.DeepCopy(), metav1.CreateOptions{})
			return err
		},
		func() error {
			u := got.DeepCopy()
			u.Spec = *want.Spec.DeepCopy()
			_, err := fsc.Update(ctx, u, metav1.UpdateOptions{})
			return err
		})
}

// ensure creates an object when get finds none and, where its spec follows the bootstrap
// configuration (mandatory, or the auto-update annotation is "true") and differs from
// wantSpec, updates it.
func ensure(kind, name string, mandatory bool, wantSpec any, get func() (metav1.Object, any, error), create, update func() error) error {
	got, spec, err := get()
	if apierrors.IsNotFound(err) {
		if err := create(); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("failed to create %s %s: %w", kind, name, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("failed to get %s %s: %w", kind, name, err)
	}
	autoUpdate := mandatory || got.GetAnnotations()[flowcontrolv1.AutoUpdateAnnotationKey] == "true"
	if !autoUpdate || apiequality.Semantic.DeepEqual(spec, wantSpec) {
		return nil
	}
	if err := update(); err != nil {
		return fmt.Errorf("failed to restore %s %s: %w", kind, name, err)
	}
	return nil
}
