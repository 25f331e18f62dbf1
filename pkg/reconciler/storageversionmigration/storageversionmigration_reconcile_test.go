package storageversionmigration

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	storagemigrationv1 "k8s.io/api/storagemigration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// fakeAccount is one account's objects of one resource, and what the reconciler did to them.
type fakeAccount struct {
	served   bool
	stored   bool
	objects  []metav1.PartialObjectMetadata
	listRV   string
	patchErr map[string]error
	patched  []string
	status   *storagemigrationv1.StorageVersionMigration
}

func (a *fakeAccount) reconciler(svm *storagemigrationv1.StorageVersionMigration, now time.Time) *reconciler {
	gvr := schema.GroupVersionResource{Group: "example.com", Version: "v2", Resource: "things"}
	return &reconciler{
		get: func(string) (*storagemigrationv1.StorageVersionMigration, bool) { return svm, svm != nil },
		resolve: func(context.Context, cluster.ID, metav1.GroupResource) (resource, bool, error) {
			return resource{gvr: gvr, kind: "Thing", migratable: a.stored}, a.served, nil
		},
		list: func(_ context.Context, _ cluster.ID, _ schema.GroupVersionResource, opts metav1.ListOptions) (*metav1.PartialObjectMetadataList, error) {
			// Two objects a page, to walk the continue tokens.
			start := 0
			if opts.Continue != "" {
				start = int(opts.Continue[0] - '0')
			}
			end := min(start+2, len(a.objects))
			if opts.Limit == 1 {
				end = min(start+1, len(a.objects))
			}
			page := &metav1.PartialObjectMetadataList{ListMeta: metav1.ListMeta{ResourceVersion: a.listRV}, Items: a.objects[start:end]}
			if end < len(a.objects) {
				page.Continue = string(rune('0' + end))
			}
			return page, nil
		},
		patch: func(_ context.Context, _ cluster.ID, _ schema.GroupVersionResource, _, name string, _ []byte) error {
			a.patched = append(a.patched, name)
			return a.patchErr[name]
		},
		updateStatus: func(_ context.Context, _ cluster.ID, svm *storagemigrationv1.StorageVersionMigration) error {
			a.status = svm
			return nil
		},
		now: func() time.Time { return now },
	}
}

func object(name, rv string) metav1.PartialObjectMetadata {
	return metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", ResourceVersion: rv}}
}

func TestReconcile(t *testing.T) {
	t.Parallel()
	created := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	migration := func(rv string) *storagemigrationv1.StorageVersionMigration {
		return &storagemigrationv1.StorageVersionMigration{
			ObjectMeta: metav1.ObjectMeta{Name: "m", CreationTimestamp: metav1.NewTime(created)},
			Spec:       storagemigrationv1.StorageVersionMigrationSpec{Resource: metav1.GroupResource{Group: "example.com", Resource: "things"}},
			Status:     storagemigrationv1.StorageVersionMigrationStatus{ResourceVersion: rv},
		}
	}
	objects := []metav1.PartialObjectMetadata{object("a", "10"), object("b", "20"), object("c", "30"), object("d", "40"), object("e", "50")}
	for _, tc := range []struct {
		name        string
		account     fakeAccount
		svm         *storagemigrationv1.StorageVersionMigration
		after       time.Duration
		wantRequeue bool
		wantErr     bool
		wantPatched []string
		wantStatus  string // the true outcome or Running; empty: no status write
		wantReason  string
		wantRV      string
	}{
		{name: "not served yet", account: fakeAccount{}, svm: migration(""), after: 10 * time.Second, wantRequeue: true},
		{name: "not served after the grace", account: fakeAccount{}, svm: migration(""), after: 2 * time.Minute,
			wantStatus: "Failed", wantReason: reasonUnknownResource},
		{name: "not stored", account: fakeAccount{served: true}, svm: migration(""),
			wantStatus: "Failed", wantReason: reasonNotMigratable},
		{name: "starts at the list's resource version", account: fakeAccount{served: true, stored: true, objects: objects, listRV: "42"},
			svm: migration(""), wantStatus: "Running", wantReason: reasonStarted, wantRV: "42"},
		{name: "rewrites the objects up to its resource version", account: fakeAccount{served: true, stored: true, objects: objects, listRV: "60"},
			svm: migration("40"), wantPatched: []string{"a", "b", "c", "d"}, wantStatus: "Succeeded", wantReason: reasonCompleted, wantRV: "40"},
		{name: "skips objects changed or deleted since", account: fakeAccount{served: true, stored: true, objects: objects, listRV: "60",
			patchErr: map[string]error{
				"a": apierrors.NewConflict(schema.GroupResource{Resource: "things"}, "a", nil),
				"b": apierrors.NewNotFound(schema.GroupResource{Resource: "things"}, "b"),
			}},
			svm: migration("60"), wantPatched: []string{"a", "b", "c", "d", "e"}, wantStatus: "Succeeded", wantReason: reasonCompleted, wantRV: "60"},
		{name: "retries when the server is busy", account: fakeAccount{served: true, stored: true, objects: objects, listRV: "60",
			patchErr: map[string]error{"b": apierrors.NewTooManyRequests("busy", 1)}},
			svm: migration("60"), wantPatched: []string{"a", "b"}, wantErr: true},
		{name: "fails on a refused write", account: fakeAccount{served: true, stored: true, objects: objects, listRV: "60",
			patchErr: map[string]error{"c": apierrors.NewForbidden(schema.GroupResource{Resource: "things"}, "c", nil)}},
			svm: migration("60"), wantPatched: []string{"a", "b", "c"}, wantStatus: "Failed", wantReason: reasonFailed, wantRV: "60"},
		{name: "done", account: fakeAccount{served: true, stored: true, objects: objects}, svm: func() *storagemigrationv1.StorageVersionMigration {
			m := migration("60")
			meta.SetStatusCondition(&m.Status.Conditions, metav1.Condition{Type: "Succeeded", Status: metav1.ConditionTrue, Reason: "Done"})
			return m
		}()},
		{name: "deleted", account: fakeAccount{served: true, stored: true, objects: objects}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := tc.account
			r := a.reconciler(tc.svm, created.Add(tc.after))
			requeue, err := r.reconcile(t.Context(), client.ToClusterKey("acc", "", "m"))
			require.Equal(t, tc.wantErr, err != nil, "error: %v", err)
			require.Equal(t, tc.wantRequeue, requeue > 0)
			require.Equal(t, tc.wantPatched, a.patched)
			if tc.wantStatus == "" {
				require.Nil(t, a.status)
				return
			}
			require.NotNil(t, a.status)
			c := meta.FindStatusCondition(a.status.Status.Conditions, tc.wantStatus)
			require.NotNil(t, c)
			require.Equal(t, metav1.ConditionTrue, c.Status)
			require.Equal(t, tc.wantReason, c.Reason)
			require.Equal(t, tc.wantRV, a.status.Status.ResourceVersion)
			if tc.wantStatus != "Running" && tc.wantRV != "" {
				require.False(t, meta.IsStatusConditionTrue(a.status.Status.Conditions, "Running"), "a finished migration still runs")
			}
		})
	}
}
