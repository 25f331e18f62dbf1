package accountmesh

import (
	"context"
	"encoding/json"
	"maps"
	"testing"

	"github.com/stretchr/testify/require"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/authentication/user"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

func TestRecordDefinedBy(t *testing.T) {
	t.Parallel()
	configMap := runtime.RawExtension{Raw: []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}`)}
	other := runtime.RawExtension{Raw: []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"b"}}`)}
	forged := map[string]string{corev1alpha1.DefinedByAnnotation: `{"username":"admin","groups":["system:masters"]}`}
	byOwner := map[string]string{corev1alpha1.DefinedByAnnotation: `{"username":"owner"}`}
	typeOf := func(annotations map[string]string, resources ...runtime.RawExtension) *corev1alpha1.AccountType {
		return &corev1alpha1.AccountType{ObjectMeta: metav1.ObjectMeta{Name: "t", Annotations: maps.Clone(annotations)}, Spec: corev1alpha1.AccountTypeSpec{DefaultResources: resources}}
	}
	for _, tc := range []struct {
		name     string
		obj, old *corev1alpha1.AccountType
		want     string
	}{
		{name: "create records the user, whatever the request says", obj: typeOf(forged, configMap), want: "mallory"},
		{name: "create without default resources records none", obj: typeOf(forged)},
		{name: "unchanged resources keep the author", obj: typeOf(forged, configMap), old: typeOf(byOwner, configMap), want: "owner"},
		{name: "changed resources record the user", obj: typeOf(byOwner, configMap, other), old: typeOf(byOwner, configMap), want: "mallory"},
		{name: "removed resources drop the author", obj: typeOf(byOwner), old: typeOf(byOwner, configMap)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := genericapirequest.WithUser(context.Background(), &user.DefaultInfo{Name: "mallory", Groups: []string{"dev"}})
			recordDefinedBy(ctx, tc.obj, tc.old)
			v, ok := tc.obj.Annotations[corev1alpha1.DefinedByAnnotation]
			if tc.want == "" {
				require.False(t, ok, "annotation %q", v)
				return
			}
			var u authenticationv1.UserInfo
			require.NoError(t, json.Unmarshal([]byte(v), &u))
			require.Equal(t, tc.want, u.Username)
		})
	}
}

type lookup map[cluster.ID]cluster.Entry

func (l lookup) Lookup(id cluster.ID) (cluster.Entry, bool) {
	e, ok := l[id]
	return e, ok
}

func TestValidateReserved(t *testing.T) {
	t.Parallel()
	index := lookup{"root": {}, "org": {Parent: "root"}}
	for _, tc := range []struct {
		name    string
		account cluster.ID
		typ     corev1alpha1.AccountType
		invalid bool
	}{
		{name: "root defines root", account: "root", typ: corev1alpha1.AccountType{ObjectMeta: metav1.ObjectMeta{Name: "root"}}},
		{name: "an org defines root", account: "org", typ: corev1alpha1.AccountType{ObjectMeta: metav1.ObjectMeta{Name: "root"}}, invalid: true},
		{name: "an org defines shadow", account: "org", typ: corev1alpha1.AccountType{ObjectMeta: metav1.ObjectMeta{Name: "shadow"}}, invalid: true},
		{name: "an org extends root", account: "org", typ: corev1alpha1.AccountType{ObjectMeta: metav1.ObjectMeta{Name: "x"}, Spec: corev1alpha1.AccountTypeSpec{Extends: "root"}}, invalid: true},
		{name: "an org extends account", account: "org", typ: corev1alpha1.AccountType{ObjectMeta: metav1.ObjectMeta{Name: "x"}, Spec: corev1alpha1.AccountTypeSpec{Extends: "account"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			errs := validateReserved(cluster.WithCluster(context.Background(), tc.account), index, &tc.typ)
			require.Equal(t, tc.invalid, len(errs) > 0, "%v", errs)
		})
	}
}
