package resourcequota

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/accountmesh/accountmesh/pkg/quota"
)

func TestCharge(t *testing.T) {
	t.Parallel()
	counted := quota.CountNames("configmaps", "")
	attrs := func(dryRun bool) admission.Attributes {
		return admission.NewAttributesRecord(&corev1.ConfigMap{}, nil, corev1.SchemeGroupVersion.WithKind("ConfigMap"), "ns", "cm",
			corev1.SchemeGroupVersion.WithResource("configmaps"), "", admission.Create, &metav1.CreateOptions{}, dryRun, &user.DefaultInfo{Name: "alice"})
	}
	newQuota := func(used map[corev1.ResourceName]string) *corev1.ResourceQuota {
		q := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "q", Namespace: "ns"},
			Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{"configmaps": resource.MustParse("5"), "count/secrets": resource.MustParse("1")}}}
		if used != nil {
			q.Status.Used = corev1.ResourceList{}
			for k, v := range used {
				q.Status.Used[k] = resource.MustParse(v)
			}
		}
		return q
	}
	usedNow := func(c *fake.Clientset) string {
		q, err := c.CoreV1().ResourceQuotas("ns").Get(context.Background(), "q", metav1.GetOptions{})
		require.NoError(t, err)
		u := q.Status.Used["configmaps"]
		return u.String()
	}

	c := fake.NewClientset(newQuota(map[corev1.ResourceName]string{"configmaps": "4"}))
	require.NoError(t, charge(t.Context(), attrs(true), c.CoreV1().ResourceQuotas("ns"), "q", counted))
	require.Equal(t, "4", usedNow(c), "a dry run charges nothing")
	require.NoError(t, charge(t.Context(), attrs(false), c.CoreV1().ResourceQuotas("ns"), "q", counted))
	require.Equal(t, "5", usedNow(c))
	err := charge(t.Context(), attrs(false), c.CoreV1().ResourceQuotas("ns"), "q", counted)
	require.True(t, apierrors.IsForbidden(err), "%v", err)
	require.Contains(t, err.Error(), "exceeded quota: q, requested: configmaps=1, used: configmaps=5, limited: configmaps=5")
	require.Equal(t, "5", usedNow(c))

	// Not counted yet: refused; a quota that does not limit the resource or is gone: allowed.
	c = fake.NewClientset(newQuota(nil))
	err = charge(t.Context(), attrs(false), c.CoreV1().ResourceQuotas("ns"), "q", counted)
	require.True(t, apierrors.IsForbidden(err), "%v", err)
	require.Contains(t, err.Error(), "status unknown for quota: q")
	require.NoError(t, charge(t.Context(), attrs(false), c.CoreV1().ResourceQuotas("ns"), "q", quota.CountNames("leases", "coordination.k8s.io")))
	require.NoError(t, charge(t.Context(), attrs(false), c.CoreV1().ResourceQuotas("ns"), "gone", counted))
}
