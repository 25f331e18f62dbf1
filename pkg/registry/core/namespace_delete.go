package core

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/storage"
	storageerr "k8s.io/apiserver/pkg/storage/errors"
	"k8s.io/apiserver/pkg/util/dryrun"

	"github.com/accountmesh/accountmesh/pkg/registry/store"
)

// namespaceStorage is what the namespace storage serves besides deletion. It leaves out
// DeleteCollection, which would delete namespaces without their termination, as upstream does.
type namespaceStorage interface {
	rest.Storage
	rest.Scoper
	rest.Creater
	rest.Getter
	rest.Lister
	rest.Updater
	rest.Watcher
	rest.SingularNameProvider
	rest.ShortNamesProvider
	rest.CategoriesProvider
	rest.ResetFieldsStrategy
	rest.StorageVersionProvider
	rest.MayReturnFullObjectDeleter
}

// namespaceREST is the storage of namespaces. Deleting a namespace takes two steps, as in a
// real cluster: the first DELETE marks it (deletionTimestamp, phase Terminating) and leaves it
// in storage while it has finalizers; it goes once its spec finalizers (removed through the
// finalize subresource) and its metadata finalizers are empty, on the write that empties the
// last list, or on a DELETE after that.
type namespaceREST struct {
	namespaceStorage
	store *store.REST
}

var _ rest.GracefulDeleter = &namespaceREST{}

// newNamespaceREST wraps the namespace storage built from namespaceOptions.
func newNamespaceREST(s *store.REST) *namespaceREST {
	s.ReturnDeletedObject = true
	return &namespaceREST{namespaceStorage: s, store: s}
}

// Delete implements rest.GracefulDeleter.
func (r *namespaceREST) Delete(ctx context.Context, name string, deleteValidation rest.ValidateObjectFunc, options *metav1.DeleteOptions) (runtime.Object, bool, error) {
	obj, err := r.store.Get(ctx, name, &metav1.GetOptions{})
	if err != nil {
		return nil, false, err
	}
	ns := obj.(*corev1.Namespace)
	if options, err = withNamespacePreconditions(ns, options); err != nil {
		return nil, false, err
	}
	if ns.DeletionTimestamp.IsZero() {
		if ns, err = r.markTerminating(ctx, name, deleteValidation, options); err != nil {
			return nil, false, err
		}
		if len(ns.Spec.Finalizers) > 0 || len(ns.Finalizers) > 0 {
			return ns, false, nil
		}
	}
	if len(ns.Spec.Finalizers) > 0 {
		return ns, false, nil
	}
	return r.store.Delete(ctx, name, deleteValidation, options)
}

// withNamespacePreconditions returns a copy of options whose preconditions hold the UID of ns,
// so that the deletion cannot reach a namespace of the same name created meanwhile, or a
// conflict if the given preconditions do not match ns.
func withNamespacePreconditions(ns *corev1.Namespace, options *metav1.DeleteOptions) (*metav1.DeleteOptions, error) {
	if options == nil {
		options = &metav1.DeleteOptions{}
	} else {
		options = options.DeepCopy()
	}
	if options.Preconditions == nil {
		options.Preconditions = &metav1.Preconditions{}
	}
	p := options.Preconditions
	gr := corev1.Resource("namespaces")
	if p.UID == nil {
		p.UID = &ns.UID
	} else if *p.UID != ns.UID {
		return nil, apierrors.NewConflict(gr, ns.Name,
			fmt.Errorf("precondition failed: UID in precondition: %v, UID in object meta: %v", *p.UID, ns.UID))
	}
	if p.ResourceVersion != nil && *p.ResourceVersion != ns.ResourceVersion {
		return nil, apierrors.NewConflict(gr, ns.Name,
			fmt.Errorf("precondition failed: ResourceVersion in precondition: %v, ResourceVersion in object meta: %v", *p.ResourceVersion, ns.ResourceVersion))
	}
	return options, nil
}

// markTerminating sets the deletion timestamp and the phase Terminating of a namespace, and
// the garbage collector's finalizers that options ask for, and returns the namespace as stored.
func (r *namespaceREST) markTerminating(ctx context.Context, name string, deleteValidation rest.ValidateObjectFunc, options *metav1.DeleteOptions) (*corev1.Namespace, error) {
	key, err := r.store.KeyFunc(ctx, name)
	if err != nil {
		return nil, err
	}
	preconditions := &storage.Preconditions{UID: options.Preconditions.UID, ResourceVersion: options.Preconditions.ResourceVersion}
	out := &corev1.Namespace{}
	err = r.store.Storage.GuaranteedUpdate(ctx, key, out, false, preconditions,
		storage.SimpleUpdate(func(existing runtime.Object) (runtime.Object, error) {
			ns, ok := existing.(*corev1.Namespace)
			if !ok {
				return nil, fmt.Errorf("failed to mark namespace terminating: unexpected %T", existing)
			}
			if deleteValidation != nil {
				if err := deleteValidation(ctx, ns); err != nil {
					return nil, err
				}
			}
			if ns.DeletionTimestamp.IsZero() {
				now := metav1.Now()
				ns.DeletionTimestamp = &now
			}
			ns.Status.Phase = corev1.NamespaceTerminating
			ns.Finalizers = deletionFinalizers(ns.Finalizers, options)
			return ns, nil
		}),
		dryrun.IsDryRun(options.DryRun), nil)
	if err != nil {
		err = storageerr.InterpretGetError(err, r.store.DefaultQualifiedResource, name)
		err = storageerr.InterpretUpdateError(err, r.store.DefaultQualifiedResource, name)
		if _, ok := err.(apierrors.APIStatus); !ok {
			err = apierrors.NewInternalError(err)
		}
		return nil, err
	}
	return out, nil
}

// deletionFinalizers returns finalizers with the garbage collector's orphan and foreground
// finalizers added or removed as the propagation options of a deletion ask; without options
// they stay as they are.
func deletionFinalizers(finalizers []string, options *metav1.DeleteOptions) []string {
	orphan := slices.Contains(finalizers, metav1.FinalizerOrphanDependents)
	foreground := slices.Contains(finalizers, metav1.FinalizerDeleteDependents)
	orphanDependents := options.OrphanDependents //nolint:staticcheck // deprecated, still honoured as upstream does
	switch {
	case orphanDependents != nil:
		orphan, foreground = *orphanDependents, !*orphanDependents
	case options.PropagationPolicy != nil:
		orphan = *options.PropagationPolicy == metav1.DeletePropagationOrphan
		foreground = *options.PropagationPolicy == metav1.DeletePropagationForeground
	}
	out := slices.DeleteFunc(slices.Clone(finalizers), func(f string) bool {
		return f == metav1.FinalizerOrphanDependents || f == metav1.FinalizerDeleteDependents
	})
	if orphan {
		out = append(out, metav1.FinalizerOrphanDependents)
	}
	if foreground {
		out = append(out, metav1.FinalizerDeleteDependents)
	}
	return out
}
