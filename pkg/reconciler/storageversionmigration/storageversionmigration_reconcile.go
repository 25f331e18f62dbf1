package storageversionmigration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	storagemigrationv1 "k8s.io/api/storagemigration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apimachinery/pkg/util/resourceversion"
	"k8s.io/client-go/discovery"
	"k8s.io/klog/v2"

	"github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/reconciler/controller"
)

// unknownResourceGrace is how long a migration waits for its resource to be served, e.g. by a
// CRD created with it, before it fails; upstream waits as long.
const unknownResourceGrace = time.Minute

// unknownResourceRecheck is how often a migration looks for its resource while it waits.
const unknownResourceRecheck = 5 * time.Second

// pageSize is how many objects one list request returns.
const pageSize = 500

// Condition reasons.
const (
	reasonStarted         = "MigrationStarted"
	reasonCompleted       = "MigrationCompleted"
	reasonFailed          = "MigrationFailed"
	reasonUnknownResource = "ResourceNotServed"
	reasonNotMigratable   = "ResourceNotStored"
)

// resource is a served resource of an account, as its discovery lists it.
type resource struct {
	gvr  schema.GroupVersionResource
	kind string
	// migratable is true when the resource can be listed and patched, i.e. is stored.
	migratable bool
}

type reconciler struct {
	get func(key string) (*storagemigrationv1.StorageVersionMigration, bool)
	// resolve finds a resource in the discovery of an account; false when it is not served.
	resolve      func(ctx context.Context, id cluster.ID, gr metav1.GroupResource) (resource, bool, error)
	list         func(ctx context.Context, id cluster.ID, gvr schema.GroupVersionResource, opts metav1.ListOptions) (*metav1.PartialObjectMetadataList, error)
	patch        func(ctx context.Context, id cluster.ID, gvr schema.GroupVersionResource, namespace, name string, data []byte) error
	updateStatus func(ctx context.Context, id cluster.ID, svm *storagemigrationv1.StorageVersionMigration) error
	now          func() time.Time
}

// reconcile moves one migration on: it waits for its resource to be served, records where the
// migration starts, migrates and records the outcome. Each status write brings the migration
// back through the informer for the next step.
func (r *reconciler) reconcile(ctx context.Context, key string) (time.Duration, error) {
	id, _, _, err := client.SplitClusterKey(key)
	if err != nil {
		return 0, err
	}
	cached, ok := r.get(key)
	if !ok || done(cached) {
		return 0, nil
	}
	svm := cached.DeepCopy()
	res, served, err := r.resolve(ctx, id, svm.Spec.Resource)
	if err != nil {
		return 0, err
	}
	switch {
	case !served:
		waited := r.now().Sub(svm.CreationTimestamp.Time)
		if waited < unknownResourceGrace {
			return min(unknownResourceRecheck, unknownResourceGrace-waited), nil
		}
		return 0, r.finish(ctx, id, svm, storagemigrationv1.MigrationFailed, reasonUnknownResource,
			fmt.Sprintf("the account does not serve %s", resourceName(svm.Spec.Resource)))
	case !res.migratable:
		return 0, r.finish(ctx, id, svm, storagemigrationv1.MigrationFailed, reasonNotMigratable,
			fmt.Sprintf("%s cannot be migrated: it is not stored, or cannot be listed and patched", resourceName(svm.Spec.Resource)))
	case svm.Status.ResourceVersion == "":
		return 0, r.start(ctx, id, svm, res.gvr)
	}
	if err := r.migrate(ctx, id, svm, res); err != nil {
		var failed migrationFailure
		if !errors.As(err, &failed) {
			return 0, err
		}
		return 0, r.finish(ctx, id, svm, storagemigrationv1.MigrationFailed, reasonFailed, failed.Error())
	}
	return 0, r.finish(ctx, id, svm, storagemigrationv1.MigrationSucceeded, reasonCompleted, "every object is stored in the current storage version")
}

// start records the resource version the migration covers: every object written at or before
// it. Objects written later are stored in the current storage version already.
func (r *reconciler) start(ctx context.Context, id cluster.ID, svm *storagemigrationv1.StorageVersionMigration, gvr schema.GroupVersionResource) error {
	list, err := r.list(ctx, id, gvr, metav1.ListOptions{Limit: 1})
	if err != nil {
		return fmt.Errorf("failed to list %s: %w", gvr, err)
	}
	svm.Status.ResourceVersion = list.ResourceVersion
	meta.SetStatusCondition(&svm.Status.Conditions, metav1.Condition{
		Type: string(storagemigrationv1.MigrationRunning), Status: metav1.ConditionTrue, Reason: reasonStarted,
		Message: fmt.Sprintf("migrating the objects written up to resource version %s", list.ResourceVersion),
	})
	return controller.Expected(r.updateStatus(ctx, id, svm))
}

// migrationFailure is an error that ends a migration as Failed, rather than one to retry.
type migrationFailure struct{ error }

// migrate writes every object of the resource listed at or below the migration's resource
// version back unchanged, a page at a time.
func (r *reconciler) migrate(ctx context.Context, id cluster.ID, svm *storagemigrationv1.StorageVersionMigration, res resource) error {
	logger := klog.FromContext(ctx)
	apiVersion, kind := res.gvr.GroupVersion().String(), res.kind
	migrated := 0
	opts := metav1.ListOptions{Limit: pageSize}
	for {
		page, err := r.list(ctx, id, res.gvr, opts)
		if err != nil {
			return fmt.Errorf("failed to list %s: %w", res.gvr, err)
		}
		for i := range page.Items {
			obj := &page.Items[i]
			newer, err := resourceversion.CompareResourceVersion(obj.ResourceVersion, svm.Status.ResourceVersion)
			if err != nil {
				return migrationFailure{fmt.Errorf("failed to compare the resource version of %s: %w", objectName(obj), err)}
			}
			if newer > 0 {
				continue
			}
			if err := r.rewrite(ctx, id, res.gvr, apiVersion, kind, obj); err != nil {
				return err
			}
			migrated++
		}
		if page.Continue == "" {
			break
		}
		opts.Continue = page.Continue
	}
	logger.V(2).Info("Migrated storage version", "cluster", id, "migration", svm.Name, "resource", res.gvr, "objects", migrated)
	return nil
}

// rewrite writes one object back unchanged, if it has not changed since it was listed.
func (r *reconciler) rewrite(ctx context.Context, id cluster.ID, gvr schema.GroupVersionResource, apiVersion, kind string, obj *metav1.PartialObjectMetadata) error {
	data, err := json.Marshal(map[string]any{
		"apiVersion": apiVersion, "kind": kind,
		"metadata": map[string]string{"resourceVersion": obj.ResourceVersion},
	})
	if err != nil {
		return migrationFailure{err}
	}
	err = r.patch(ctx, id, gvr, obj.Namespace, obj.Name, data)
	switch {
	case err == nil, apierrors.IsConflict(err), apierrors.IsNotFound(err):
		// Changed or deleted since the list: stored in the current version, or gone.
		return nil
	case retriable(err):
		return fmt.Errorf("failed to migrate %s: %w", objectName(obj), err)
	default:
		return migrationFailure{fmt.Errorf("failed to migrate %s: %w", objectName(obj), err)}
	}
}

// finish records the outcome, which is final: Succeeded or Failed.
func (r *reconciler) finish(ctx context.Context, id cluster.ID, svm *storagemigrationv1.StorageVersionMigration,
	outcome storagemigrationv1.MigrationConditionType, reason, message string) error {
	if meta.IsStatusConditionTrue(svm.Status.Conditions, string(storagemigrationv1.MigrationRunning)) {
		meta.SetStatusCondition(&svm.Status.Conditions, metav1.Condition{
			Type: string(storagemigrationv1.MigrationRunning), Status: metav1.ConditionFalse, Reason: reason, Message: message,
		})
	}
	meta.SetStatusCondition(&svm.Status.Conditions, metav1.Condition{
		Type: string(outcome), Status: metav1.ConditionTrue, Reason: reason, Message: message,
	})
	return controller.Expected(r.updateStatus(ctx, id, svm))
}

// done reports whether the migration has an outcome.
func done(svm *storagemigrationv1.StorageVersionMigration) bool {
	return meta.IsStatusConditionTrue(svm.Status.Conditions, string(storagemigrationv1.MigrationSucceeded)) ||
		meta.IsStatusConditionTrue(svm.Status.Conditions, string(storagemigrationv1.MigrationFailed))
}

// retriable reports whether a failed write may succeed later: the server was busy, timed out
// or could not be reached.
func retriable(err error) bool {
	return apierrors.IsTooManyRequests(err) || apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) ||
		apierrors.IsInternalError(err) || apierrors.IsServiceUnavailable(err) ||
		utilnet.IsConnectionReset(err) || utilnet.IsConnectionRefused(err) || utilnet.IsProbableEOF(err)
}

// resolve finds gr in a discovery: in its group's preferred version, which the server converts
// from and to the storage version.
func resolve(ctx context.Context, d discovery.DiscoveryInterfaceWithContext, gr metav1.GroupResource) (resource, bool, error) {
	groups, err := d.ServerGroupsWithContext(ctx)
	if err != nil {
		return resource{}, false, fmt.Errorf("failed to discover the account's API groups: %w", err)
	}
	for _, g := range groups.Groups {
		if g.Name != gr.Group {
			continue
		}
		gv := g.PreferredVersion.GroupVersion
		list, err := d.ServerResourcesForGroupVersionWithContext(ctx, gv)
		if apierrors.IsNotFound(err) {
			return resource{}, false, nil
		}
		if err != nil {
			return resource{}, false, fmt.Errorf("failed to discover the resources of %s: %w", gv, err)
		}
		for _, r := range list.APIResources {
			if r.Name != gr.Resource {
				continue
			}
			parsed, err := schema.ParseGroupVersion(gv)
			if err != nil {
				return resource{}, false, err
			}
			return resource{
				gvr:        parsed.WithResource(r.Name),
				kind:       r.Kind,
				migratable: slices.Contains(r.Verbs, "list") && slices.Contains(r.Verbs, "patch"),
			}, true, nil
		}
	}
	return resource{}, false, nil
}

func resourceName(gr metav1.GroupResource) string {
	if gr.Group == "" {
		return gr.Resource
	}
	return gr.Resource + "." + gr.Group
}

func objectName(obj *metav1.PartialObjectMetadata) string {
	if obj.Namespace == "" {
		return obj.Name
	}
	return obj.Namespace + "/" + obj.Name
}
