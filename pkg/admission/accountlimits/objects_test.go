package accountlimits

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authentication/user"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/objectcount"
)

// counter is a fixed limit and a count.
type counter struct {
	limit objectcount.Limit
	count int64
}

func (c *counter) Limit(context.Context, cluster.ID) (objectcount.Limit, bool) {
	return c.limit, c.limit.Source != ""
}

func (c *counter) Count(cluster.ID) int64 { return c.count }

func (c *counter) Reserve(_ cluster.ID, l objectcount.Limit, enforce bool) (int64, bool) {
	if enforce && c.count+1 > l.Value {
		return c.count, false
	}
	c.count++
	return c.count - 1, true
}

// paths names the accounts of the test.
type paths struct{ Index }

func (paths) Lookup(id cluster.ID) (cluster.Entry, bool) {
	return cluster.Entry{ID: id, Path: "root:" + string(id)}, true
}

func TestObjects(t *testing.T) {
	t.Parallel()
	alice := &user.DefaultInfo{Name: "alice"}
	server := &user.DefaultInfo{Name: user.APIServerUser, Groups: []string{user.SystemPrivilegedGroup}}
	create := func(u user.Info, resource, subresource string, dryRun bool) admission.Attributes {
		var obj runtime.Object = &corev1.ConfigMap{}
		return admission.NewAttributesRecord(obj, nil, corev1.SchemeGroupVersion.WithKind("ConfigMap"), "ns", "x",
			corev1.SchemeGroupVersion.WithResource(resource), subresource, admission.Create, &metav1.CreateOptions{}, dryRun, u)
	}
	for _, tc := range []struct {
		name      string
		limit     objectcount.Limit
		attrs     admission.Attributes
		wantErr   string
		wantCount int64
	}{
		{name: "no limit", attrs: create(alice, "configmaps", "", false), wantCount: 3},
		{name: "below", limit: objectcount.Limit{Value: 3, Source: corev1alpha1.LimitSourceAccount, SetBy: "acme"}, attrs: create(alice, "configmaps", "", false), wantCount: 3},
		{name: "at the limit", limit: objectcount.Limit{Value: 2, Source: corev1alpha1.LimitSourceAccount, SetBy: "acme"}, attrs: create(alice, "configmaps", "", false),
			wantErr: "exceeded account limit maxObjects=2 set by account root:acme: root:team stores 2 objects", wantCount: 2},
		{name: "a type's", limit: objectcount.Limit{Value: 2, Source: corev1alpha1.LimitSourceAccountType, SetBy: "acme", Type: "small"}, attrs: create(alice, "namespaces", "", false),
			wantErr: "exceeded account limit maxObjects=2 set by account type small of account root:acme: root:team stores 2 objects", wantCount: 2},
		{name: "the platform's", limit: objectcount.Limit{Value: 2, Source: corev1alpha1.LimitSourcePlatform}, attrs: create(alice, "configmaps", "", false),
			wantErr: "exceeded account limit maxObjects=2 set by the platform (--default-max-objects-per-account): root:team stores 2 objects", wantCount: 2},
		{name: "dry run: checked, not counted", limit: objectcount.Limit{Value: 2, Source: corev1alpha1.LimitSourcePlatform}, attrs: create(alice, "configmaps", "", true),
			wantErr: "exceeded account limit maxObjects=2", wantCount: 2},
		{name: "the server: counted, not refused", limit: objectcount.Limit{Value: 2, Source: corev1alpha1.LimitSourcePlatform}, attrs: create(server, "configmaps", "", false), wantCount: 3},
		{name: "a subresource stores nothing", limit: objectcount.Limit{Value: 2, Source: corev1alpha1.LimitSourcePlatform}, attrs: create(alice, "serviceaccounts", "token", false), wantCount: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := &counter{limit: tc.limit, count: 2}
			err := NewObjects(c, paths{}).Validate(cluster.WithCluster(t.Context(), "team"), tc.attrs, nil)
			if tc.wantErr != "" {
				require.Error(t, err)
				require.True(t, apierrors.IsForbidden(err), "403: %v", err)
				require.Contains(t, err.Error(), tc.wantErr)
			} else {
				require.NoError(t, err)
			}
			require.Equal(t, tc.wantCount, c.count)
		})
	}
}
