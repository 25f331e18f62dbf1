package flowcontrol

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/endpoints/request"
	utilflowcontrol "k8s.io/apiserver/pkg/util/flowcontrol"

	"github.com/accountmesh/accountmesh/pkg/cluster"
)

func TestQualify(t *testing.T) {
	t.Parallel()
	p := &perAccount{root: "root0000000000000", named: func(n string) bool { return n == "ops-bot" }}
	digest := func() utilflowcontrol.RequestDigest {
		return utilflowcontrol.RequestDigest{
			RequestInfo: &request.RequestInfo{Namespace: "kube-system", Resource: "configmaps"},
			User:        &user.DefaultInfo{Name: "system:serviceaccount:kube-system:default", Groups: []string{"system:serviceaccounts"}},
		}
	}
	for _, tc := range []struct {
		name                string
		ctx                 context.Context
		wantUser, wantSpace string
	}{
		{"root is the platform", cluster.WithCluster(context.Background(), "root0000000000000"), "system:serviceaccount:kube-system:default", "kube-system"},
		{"no account", context.Background(), "system:serviceaccount:kube-system:default", "kube-system"},
		{"an account qualifies user and namespace", cluster.WithCluster(context.Background(), "acme000000000000"),
			"acme000000000000/system:serviceaccount:kube-system:default", "acme000000000000/kube-system"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := digest()
			got := p.qualify(tc.ctx, in)
			require.Equal(t, tc.wantUser, got.User.GetName())
			require.Equal(t, tc.wantSpace, got.RequestInfo.Namespace)
			require.Equal(t, []string{"system:serviceaccounts"}, got.User.GetGroups(), "groups are kept")
			require.Equal(t, "kube-system", in.RequestInfo.Namespace, "the request's own info is not changed")
		})
	}
	t.Run("a user a FlowSchema names is matched in every account", func(t *testing.T) {
		in := digest()
		in.User = &user.DefaultInfo{Name: "ops-bot"}
		got := p.qualify(cluster.WithCluster(context.Background(), "acme000000000000"), in)
		require.Equal(t, "ops-bot", got.User.GetName())
		require.Equal(t, "acme000000000000/kube-system", got.RequestInfo.Namespace)
	})
}
