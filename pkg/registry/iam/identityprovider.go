// Package iam serves the iam.accountmesh.io API: IdentityProviders, allowed only in accounts of
// type org, and Invites, in any account. It validates and defaults them and records who created
// an invite; the identityprovider controller turns providers into authenticators and reports
// their status, the invite controller accepts and expires invites.
//
// It must not fetch anything from issuers; that is the controller's job.
package iam

import (
	"context"
	"crypto/x509"
	"fmt"
	"net/url"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/registry/rest"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	iamv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/iam/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/registry/store"
)

// Lookup returns an account's index entry.
type Lookup interface {
	Lookup(id cluster.ID) (cluster.Entry, bool)
}

// NewStorage returns the storage of the iam.accountmesh.io/v1alpha1 resources.
func NewStorage(scheme *runtime.Scheme, getter generic.RESTOptionsGetter, index Lookup) (map[string]rest.Storage, error) {
	return store.NewGroup(scheme, getter, identityProviderOptions(index), inviteOptions(time.Now))
}

// DefaultPrefix is the default user and group name prefix of an organisation's provider.
func DefaultPrefix(orgPath string) string { return orgPath + cluster.PathSeparator }

func identityProviderOptions(index Lookup) store.Options {
	org := func(ctx context.Context) (cluster.Entry, bool) {
		id, ok := cluster.FromContext(ctx)
		if !ok {
			return cluster.Entry{}, false
		}
		e, ok := index.Lookup(id)
		return e, ok && e.Type == corev1alpha1.TypeOrg
	}
	validate := func(ctx context.Context, obj runtime.Object) field.ErrorList {
		e, ok := org(ctx)
		if !ok {
			return field.ErrorList{field.Forbidden(field.NewPath("metadata"),
				"identity providers can be created only in accounts of type org; this account is not an organisation")}
		}
		return validateIdentityProvider(obj.(*iamv1alpha1.IdentityProvider), e.Path)
	}
	setDefaults := func(ctx context.Context, obj runtime.Object) {
		e, ok := org(ctx)
		if !ok {
			return
		}
		spec := &obj.(*iamv1alpha1.IdentityProvider).Spec
		if spec.UsernameClaim == "" {
			spec.UsernameClaim = "sub"
		}
		if spec.UsernamePrefix == "" {
			spec.UsernamePrefix = DefaultPrefix(e.Path)
		}
		if spec.GroupsPrefix == "" {
			spec.GroupsPrefix = DefaultPrefix(e.Path)
		}
	}
	return store.Options{
		Resource:         iamv1alpha1.Resource("identityproviders"),
		Singular:         "identityprovider",
		New:              func() runtime.Object { return &iamv1alpha1.IdentityProvider{} },
		NewList:          func() runtime.Object { return &iamv1alpha1.IdentityProviderList{} },
		HasStatus:        true,
		PrepareForCreate: setDefaults,
		PrepareForUpdate: func(ctx context.Context, obj, _ runtime.Object) { setDefaults(ctx, obj) },
		Validate:         validate,
		ShortNames:       []string{"idp"},
		Columns: []store.Column{
			{Name: "Issuer", Type: "string", Description: "The issuer URL.", Value: func(obj runtime.Object) interface{} {
				return obj.(*iamv1alpha1.IdentityProvider).Spec.IssuerURL
			}},
			{Name: "Ready", Type: "string", Description: "Whether the provider authenticates users.", Value: func(obj runtime.Object) interface{} {
				for _, c := range obj.(*iamv1alpha1.IdentityProvider).Status.Conditions {
					if c.Type == iamv1alpha1.ConditionReady {
						return string(c.Status)
					}
				}
				return "Unknown"
			}},
		},
	}
}

func validateIdentityProvider(idp *iamv1alpha1.IdentityProvider, orgPath string) field.ErrorList {
	var errs field.ErrorList
	spec := field.NewPath("spec")
	switch u, err := url.Parse(idp.Spec.IssuerURL); {
	case idp.Spec.IssuerURL == "":
		errs = append(errs, field.Required(spec.Child("issuerURL"), ""))
	case err != nil:
		errs = append(errs, field.Invalid(spec.Child("issuerURL"), idp.Spec.IssuerURL, err.Error()))
	case u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		errs = append(errs, field.Invalid(spec.Child("issuerURL"), idp.Spec.IssuerURL, "must be an https URL without user, query or fragment"))
	}
	if idp.Spec.ClientID == "" {
		errs = append(errs, field.Required(spec.Child("clientID"), ""))
	}
	for i, a := range idp.Spec.Audiences {
		if a == "" {
			errs = append(errs, field.Invalid(spec.Child("audiences").Index(i), a, "may not be empty"))
		}
	}
	prefix := DefaultPrefix(orgPath)
	for _, f := range []struct{ name, value string }{{"usernamePrefix", idp.Spec.UsernamePrefix}, {"groupsPrefix", idp.Spec.GroupsPrefix}} {
		if f.value != "" && !strings.HasPrefix(f.value, prefix) {
			errs = append(errs, field.Invalid(spec.Child(f.name), f.value,
				fmt.Sprintf("must start with %q so that the organisation's users cannot collide with anyone else", prefix)))
		}
	}
	if ca := idp.Spec.CertificateAuthority; ca != "" && !x509.NewCertPool().AppendCertsFromPEM([]byte(ca)) {
		errs = append(errs, field.Invalid(spec.Child("certificateAuthority"), "<PEM>", "must hold at least one PEM-encoded certificate"))
	}
	return errs
}
