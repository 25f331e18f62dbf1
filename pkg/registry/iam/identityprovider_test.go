package iam

import (
	"testing"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	iamv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/iam/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

func TestIdentityProviderValidation(t *testing.T) {
	t.Parallel()
	const (
		root cluster.ID = "rootrootrootroot"
		org  cluster.ID = "orgaaaaaaaaaaaaa"
		acc  cluster.ID = "accaaaaaaaaaaaaa"
	)
	index := cluster.NewIndex(root)
	index.Set(root, "acme", org, cluster.Attributes{Type: corev1alpha1.TypeOrg})
	index.Set(org, "team", acc, cluster.Attributes{Type: corev1alpha1.TypeAccount})
	o := identityProviderOptions(index)
	valid := func() *iamv1alpha1.IdentityProvider {
		return &iamv1alpha1.IdentityProvider{
			ObjectMeta: metav1.ObjectMeta{Name: "corp"},
			Spec:       iamv1alpha1.IdentityProviderSpec{IssuerURL: "https://login.acme.example", ClientID: "mesh"},
		}
	}
	for _, tc := range []struct {
		name    string
		cluster cluster.ID
		edit    func(*iamv1alpha1.IdentityProvider)
		wantErr string
	}{
		{name: "valid", cluster: org},
		{name: "in an account below an org", cluster: acc, wantErr: "only in accounts of type org"},
		{name: "in root", cluster: root, wantErr: "only in accounts of type org"},
		{name: "no issuer", cluster: org, edit: func(i *iamv1alpha1.IdentityProvider) { i.Spec.IssuerURL = "" }, wantErr: "spec.issuerURL: Required"},
		{name: "http issuer", cluster: org, edit: func(i *iamv1alpha1.IdentityProvider) { i.Spec.IssuerURL = "http://login.acme.example" }, wantErr: "https URL"},
		{name: "issuer with query", cluster: org, edit: func(i *iamv1alpha1.IdentityProvider) { i.Spec.IssuerURL = "https://login.acme.example?x=1" }, wantErr: "https URL"},
		{name: "no client", cluster: org, edit: func(i *iamv1alpha1.IdentityProvider) { i.Spec.ClientID = "" }, wantErr: "spec.clientID: Required"},
		{name: "empty audience", cluster: org, edit: func(i *iamv1alpha1.IdentityProvider) { i.Spec.Audiences = []string{""} }, wantErr: "spec.audiences[0]"},
		{name: "platform-like username prefix", cluster: org, edit: func(i *iamv1alpha1.IdentityProvider) { i.Spec.UsernamePrefix = "system:" }, wantErr: `must start with "root:acme:"`},
		{name: "other org's groups prefix", cluster: org, edit: func(i *iamv1alpha1.IdentityProvider) { i.Spec.GroupsPrefix = "root:other:" }, wantErr: `must start with "root:acme:"`},
		{name: "longer prefix in the org", cluster: org, edit: func(i *iamv1alpha1.IdentityProvider) { i.Spec.UsernamePrefix = "root:acme:corp:" }},
		{name: "bad CA", cluster: org, edit: func(i *iamv1alpha1.IdentityProvider) { i.Spec.CertificateAuthority = "not pem" }, wantErr: "PEM-encoded certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			idp := valid()
			if tc.edit != nil {
				tc.edit(idp)
			}
			errs := o.Validate(cluster.WithCluster(t.Context(), tc.cluster), idp)
			if tc.wantErr == "" {
				require.Empty(t, errs)
				return
			}
			require.ErrorContains(t, errs.ToAggregate(), tc.wantErr)
		})
	}
}

func TestIdentityProviderDefaults(t *testing.T) {
	t.Parallel()
	index := cluster.NewIndex("rootrootrootroot")
	index.Set("rootrootrootroot", "acme", "orgaaaaaaaaaaaaa", cluster.Attributes{Type: corev1alpha1.TypeOrg})
	idp := &iamv1alpha1.IdentityProvider{Spec: iamv1alpha1.IdentityProviderSpec{IssuerURL: "https://x.example", ClientID: "c", GroupsPrefix: "root:acme:g:"}}
	identityProviderOptions(index).PrepareForCreate(cluster.WithCluster(t.Context(), "orgaaaaaaaaaaaaa"), idp)
	require.Equal(t, "sub", idp.Spec.UsernameClaim)
	require.Equal(t, "root:acme:", idp.Spec.UsernamePrefix)
	require.Equal(t, "root:acme:g:", idp.Spec.GroupsPrefix, "a given prefix is kept")
}
