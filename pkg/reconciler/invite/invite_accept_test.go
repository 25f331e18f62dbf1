package invite

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/user"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	iamv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/iam/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/authentication"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// index is a tree: root > org > team, and root > other.
type index map[cluster.ID]cluster.Entry

func (i index) Lookup(id cluster.ID) (cluster.Entry, bool) { e, ok := i[id]; return e, ok }

var tree = index{
	"root":  {ID: "root", Path: "root"},
	"org":   {ID: "org", Path: "root:org", Parent: "root"},
	"team":  {ID: "team", Path: "root:org:team", Parent: "org"},
	"other": {ID: "other", Path: "root:other", Parent: "root"},
}

var now = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

func invite(account, name, email string, mutate ...func(*iamv1alpha1.Invite)) iamv1alpha1.Invite {
	inv := iamv1alpha1.Invite{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{corev1alpha1.ClusterAnnotation: account}},
		Spec: iamv1alpha1.InviteSpec{Email: email, Role: "edit", ExpiresAt: &metav1.Time{Time: now.Add(time.Hour)},
			Inviter: iamv1alpha1.InviteUser{Username: "ada", Groups: []string{"staff"}}},
		Status: iamv1alpha1.InviteStatus{Phase: iamv1alpha1.InvitePending},
	}
	for _, m := range mutate {
		m(&inv)
	}
	return inv
}

func TestAccept(t *testing.T) {
	t.Parallel()
	platformUser := &user.DefaultInfo{Name: "platform:bob"}
	orgUser := &user.DefaultInfo{Name: "root:org:bob", Extra: map[string][]string{authentication.OrganizationExtraKey: {"org"}}}
	tests := []struct {
		name     string
		user     user.Info
		email    string
		invites  []iamv1alpha1.Invite
		checkErr error
		accepted []Accepted
		grants   []string
		statuses map[string]iamv1alpha1.InvitePhase
	}{{
		name: "a pending invite of the address is granted, in any case of the address",
		user: platformUser, email: " Bob@Example.com",
		invites:  []iamv1alpha1.Invite{invite("team", "a", "bob@example.com")},
		accepted: []Accepted{{Account: "root:org:team", Invite: "a"}},
		grants:   []string{"team edit false platform:bob"},
		statuses: map[string]iamv1alpha1.InvitePhase{"a": iamv1alpha1.InviteAccepted},
	}, {
		name: "another address, an expired, an accepted and an unknown account's invite are left",
		user: platformUser, email: "bob@example.com",
		invites: []iamv1alpha1.Invite{
			invite("team", "other-address", "eve@example.com"),
			invite("team", "expired", "bob@example.com", func(i *iamv1alpha1.Invite) { i.Spec.ExpiresAt.Time = now.Add(-time.Second) }),
			invite("team", "accepted", "bob@example.com", func(i *iamv1alpha1.Invite) { i.Status.Phase = iamv1alpha1.InviteAccepted }),
			invite("gone", "gone", "bob@example.com"),
		},
	}, {
		name: "an organisation's user gets the invites of the organisation and below only",
		user: orgUser, email: "bob@example.com",
		invites: []iamv1alpha1.Invite{
			invite("org", "org", "bob@example.com"),
			invite("team", "team", "bob@example.com", func(i *iamv1alpha1.Invite) { i.Spec.Inherit = true }),
			invite("other", "other", "bob@example.com"),
			invite("root", "root", "bob@example.com"),
		},
		accepted: []Accepted{{Account: "root:org", Invite: "org"}, {Account: "root:org:team", Invite: "team"}},
		grants:   []string{"org edit false root:org:bob", "team edit true root:org:bob"},
		statuses: map[string]iamv1alpha1.InvitePhase{"org": iamv1alpha1.InviteAccepted, "team": iamv1alpha1.InviteAccepted},
	}, {
		name: "an invite whose inviter may no longer grant fails",
		user: platformUser, email: "bob@example.com",
		invites:  []iamv1alpha1.Invite{invite("team", "a", "bob@example.com")},
		checkErr: errors.New("no"),
		statuses: map[string]iamv1alpha1.InvitePhase{"a": iamv1alpha1.InviteFailed},
	}, {
		name: "no address, no invites",
		user: platformUser, email: "",
		invites: []iamv1alpha1.Invite{invite("team", "a", "")},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var grants []string
			statuses := map[string]iamv1alpha1.InvitePhase{}
			a := &Acceptor{
				list: func(_ context.Context, email string) ([]iamv1alpha1.Invite, error) {
					require.Equal(t, "bob@example.com", email, "the address is listed normalised")
					return tc.invites, nil
				},
				grant: func(_ context.Context, id cluster.ID, role string, inherit bool, s rbacv1.Subject) error {
					require.Equal(t, rbacv1.UserKind, s.Kind)
					grants = append(grants, string(id)+" "+role+" "+map[bool]string{true: "true", false: "false"}[inherit]+" "+s.Name)
					return nil
				},
				updateStatus: func(_ context.Context, _ cluster.ID, inv *iamv1alpha1.Invite) error {
					statuses[inv.Name] = inv.Status.Phase
					if inv.Status.Phase == iamv1alpha1.InviteAccepted {
						require.Equal(t, tc.user.GetName(), inv.Status.User)
					}
					return nil
				},
				check: func(_ context.Context, u user.Info, _ cluster.ID, _ string, _ bool) error {
					require.Equal(t, "ada", u.GetName(), "the grant is checked as the inviter")
					require.Equal(t, []string{"staff"}, u.GetGroups())
					return tc.checkErr
				},
				index: tree,
				now:   func() time.Time { return now },
			}
			got, err := a.Accept(t.Context(), tc.user, tc.email)
			require.NoError(t, err)
			require.Equal(t, tc.accepted, got)
			require.Equal(t, tc.grants, grants)
			if tc.statuses == nil {
				tc.statuses = map[string]iamv1alpha1.InvitePhase{}
			}
			require.Equal(t, tc.statuses, statuses)
		})
	}
}

func TestExpire(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		invite  iamv1alpha1.Invite
		requeue time.Duration
		phase   iamv1alpha1.InvitePhase
	}{
		{name: "pending: looked at again when it expires", invite: invite("team", "a", "bob@example.com"), requeue: time.Hour},
		{name: "past its expiry: expired", invite: invite("team", "a", "bob@example.com", func(i *iamv1alpha1.Invite) {
			i.Spec.ExpiresAt.Time = now.Add(-time.Minute)
		}), phase: iamv1alpha1.InviteExpired},
		{name: "accepted: left as it is", invite: invite("team", "a", "bob@example.com", func(i *iamv1alpha1.Invite) {
			i.Spec.ExpiresAt.Time = now.Add(-time.Minute)
			i.Status.Phase = iamv1alpha1.InviteAccepted
		})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var written iamv1alpha1.InvitePhase
			r := &reconciler{
				get: func(string) (*iamv1alpha1.Invite, bool) { return &tc.invite, true },
				updateStatus: func(_ context.Context, id cluster.ID, inv *iamv1alpha1.Invite) error {
					require.Equal(t, cluster.ID("team"), id)
					written = inv.Status.Phase
					return nil
				},
				now: func() time.Time { return now },
			}
			requeue, err := r.reconcile(t.Context(), "team|a")
			require.NoError(t, err)
			require.Equal(t, tc.requeue, requeue)
			require.Equal(t, tc.phase, written)
		})
	}
}
