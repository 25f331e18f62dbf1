package iam

import (
	"context"
	"fmt"
	"net/mail"
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/validate/content"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/generic"

	iamv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/iam/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/registry/store"
)

// DefaultInviteLifetime is how long an invite without spec.expiresAt stays open.
const DefaultInviteLifetime = 7 * 24 * time.Hour

func inviteOf(obj runtime.Object) *iamv1alpha1.Invite { return obj.(*iamv1alpha1.Invite) }

func inviteOptions(now func() time.Time) store.Options {
	return store.Options{
		Resource:  iamv1alpha1.Resource("invites"),
		Singular:  "invite",
		New:       func() runtime.Object { return &iamv1alpha1.Invite{} },
		NewList:   func() runtime.Object { return &iamv1alpha1.InviteList{} },
		HasStatus: true,
		PrepareForCreate: func(ctx context.Context, obj runtime.Object) {
			inv := inviteOf(obj)
			inv.Spec.Email = iamv1alpha1.NormalizeEmail(inv.Spec.Email)
			if inv.Spec.ExpiresAt == nil {
				inv.Spec.ExpiresAt = &metav1.Time{Time: now().Add(DefaultInviteLifetime).Truncate(time.Second)}
			}
			// The inviter is who made the request, whatever the request says.
			inv.Spec.Inviter = iamv1alpha1.InviteUser{}
			if u, ok := genericapirequest.UserFrom(ctx); ok {
				inv.Spec.Inviter = iamv1alpha1.InviteUser{Username: u.GetName(), UID: u.GetUID(), Groups: u.GetGroups()}
				if len(u.GetExtra()) > 0 {
					inv.Spec.Inviter.Extra = map[string]iamv1alpha1.ExtraValue{}
					for k, v := range u.GetExtra() {
						inv.Spec.Inviter.Extra[k] = v
					}
				}
			}
			inv.Status = iamv1alpha1.InviteStatus{Phase: iamv1alpha1.InvitePending}
		},
		Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
			return validateInvite(inviteOf(obj), now())
		},
		ValidateUpdate: func(_ context.Context, obj, old runtime.Object) field.ErrorList {
			if !equality.Semantic.DeepEqual(inviteOf(obj).Spec, inviteOf(old).Spec) {
				return field.ErrorList{field.Forbidden(field.NewPath("spec"), "is immutable; delete the invite and create another")}
			}
			return nil
		},
		ValidateStatusUpdate: func(_ context.Context, obj, _ runtime.Object) field.ErrorList {
			switch p := inviteOf(obj).Status.Phase; p {
			case iamv1alpha1.InvitePending, iamv1alpha1.InviteAccepted, iamv1alpha1.InviteExpired, iamv1alpha1.InviteFailed:
				return nil
			default:
				return field.ErrorList{field.NotSupported(field.NewPath("status", "phase"), p,
					[]string{string(iamv1alpha1.InvitePending), string(iamv1alpha1.InviteAccepted), string(iamv1alpha1.InviteExpired), string(iamv1alpha1.InviteFailed)})}
			}
		},
		AttrFunc: func(obj runtime.Object) (labels.Set, fields.Set, error) {
			inv, ok := obj.(*iamv1alpha1.Invite)
			if !ok {
				return nil, nil, fmt.Errorf("not an Invite: %T", obj)
			}
			return inv.Labels, generic.AddObjectMetaFieldsSet(fields.Set{iamv1alpha1.InviteEmailField: inv.Spec.Email}, &inv.ObjectMeta, false), nil
		},
		Columns: []store.Column{
			{Name: "Email", Type: "string", Description: "The invited address.", Value: func(obj runtime.Object) interface{} {
				return inviteOf(obj).Spec.Email
			}},
			{Name: "Role", Type: "string", Description: "The ClusterRole granted.", Value: func(obj runtime.Object) interface{} {
				return inviteOf(obj).Spec.Role
			}},
			{Name: "Inherit", Type: "string", Description: "Whether the role is granted below too.", Value: func(obj runtime.Object) interface{} {
				return strconv.FormatBool(inviteOf(obj).Spec.Inherit)
			}},
			{Name: "Phase", Type: "string", Description: "Pending, Accepted, Expired or Failed.", Value: func(obj runtime.Object) interface{} {
				return string(inviteOf(obj).Status.Phase)
			}},
			{Name: "User", Type: "string", Description: "The user who accepted the invite.", Value: func(obj runtime.Object) interface{} {
				return inviteOf(obj).Status.User
			}},
			{Name: "Expires", Type: "string", Description: "When the invite stops granting anything.", Value: func(obj runtime.Object) interface{} {
				if e := inviteOf(obj).Spec.ExpiresAt; e != nil {
					return e.UTC().Format(time.RFC3339)
				}
				return ""
			}},
		},
	}
}

// validateInvite checks a new invite: a plain email address, a ClusterRole name and an expiry
// in the future.
func validateInvite(inv *iamv1alpha1.Invite, now time.Time) field.ErrorList {
	var errs field.ErrorList
	spec := field.NewPath("spec")
	if inv.Spec.Email == "" {
		errs = append(errs, field.Required(spec.Child("email"), "the address to invite"))
	} else if a, err := mail.ParseAddress(inv.Spec.Email); err != nil || a.Address != inv.Spec.Email || a.Name != "" {
		errs = append(errs, field.Invalid(spec.Child("email"), inv.Spec.Email, "must be a plain email address, such as alice@example.com"))
	}
	if inv.Spec.Role == "" {
		errs = append(errs, field.Required(spec.Child("role"), "the name of the ClusterRole to grant"))
	} else {
		for _, msg := range content.IsPathSegmentName(inv.Spec.Role) {
			errs = append(errs, field.Invalid(spec.Child("role"), inv.Spec.Role, msg))
		}
	}
	if e := inv.Spec.ExpiresAt; e != nil && !e.After(now) {
		errs = append(errs, field.Invalid(spec.Child("expiresAt"), e.UTC().Format(time.RFC3339), "must be in the future"))
	}
	return errs
}
