package iam

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/user"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"

	iamv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/iam/v1alpha1"
)

func TestValidateInvite(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	future := &metav1.Time{Time: now.Add(time.Hour)}
	tests := []struct {
		name  string
		spec  iamv1alpha1.InviteSpec
		wrong []string
	}{
		{name: "valid", spec: iamv1alpha1.InviteSpec{Email: "bob@example.com", Role: "edit", ExpiresAt: future}},
		{name: "nothing", spec: iamv1alpha1.InviteSpec{}, wrong: []string{"spec.email", "spec.role"}},
		{name: "a name with the address", spec: iamv1alpha1.InviteSpec{Email: "Bob <bob@example.com>", Role: "edit"}, wrong: []string{"spec.email"}},
		{name: "not an address", spec: iamv1alpha1.InviteSpec{Email: "bob", Role: "edit"}, wrong: []string{"spec.email"}},
		{name: "a role that is no name", spec: iamv1alpha1.InviteSpec{Email: "bob@example.com", Role: "a/b"}, wrong: []string{"spec.role"}},
		{name: "expired already", spec: iamv1alpha1.InviteSpec{Email: "bob@example.com", Role: "edit", ExpiresAt: &metav1.Time{Time: now}}, wrong: []string{"spec.expiresAt"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, e := range validateInvite(&iamv1alpha1.Invite{Spec: tc.spec}, now) {
				got = append(got, e.Field)
			}
			require.Equal(t, tc.wrong, got)
		})
	}
}

// TestInviteDefaults checks what the server sets on a new invite, whatever the request says:
// the inviter, a pending status, the address in lower case and an expiry.
func TestInviteDefaults(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	o := inviteOptions(func() time.Time { return now })
	inv := &iamv1alpha1.Invite{
		Spec: iamv1alpha1.InviteSpec{Email: " Bob@Example.COM ", Role: "edit",
			Inviter: iamv1alpha1.InviteUser{Username: "system:admin", Groups: []string{"system:masters"}}},
		Status: iamv1alpha1.InviteStatus{Phase: iamv1alpha1.InviteAccepted, User: "eve"},
	}
	ctx := genericapirequest.WithUser(t.Context(), &user.DefaultInfo{Name: "ada", UID: "1", Groups: []string{"staff"}, Extra: map[string][]string{"k": {"v"}}})
	o.PrepareForCreate(ctx, inv)
	require.Equal(t, "bob@example.com", inv.Spec.Email)
	require.Equal(t, iamv1alpha1.InviteUser{Username: "ada", UID: "1", Groups: []string{"staff"}, Extra: map[string]iamv1alpha1.ExtraValue{"k": {"v"}}}, inv.Spec.Inviter)
	require.Equal(t, iamv1alpha1.InviteStatus{Phase: iamv1alpha1.InvitePending}, inv.Status)
	require.Equal(t, now.Add(DefaultInviteLifetime), inv.Spec.ExpiresAt.Time)
	changed := inv.DeepCopy()
	changed.Spec.Role = "admin"
	require.NotEmpty(t, o.ValidateUpdate(t.Context(), changed, inv), "the spec is immutable")
	require.Empty(t, o.ValidateUpdate(t.Context(), inv.DeepCopy(), inv))
}
