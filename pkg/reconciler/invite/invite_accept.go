package invite

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/klog/v2"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	iamv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/iam/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/authentication"
	"github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// GrantChecker reports why u may not grant ClusterRole role in account id (and below, with
// inherit), or nil; the RBAC escalation admission plugin implements it.
type GrantChecker func(ctx context.Context, u user.Info, id cluster.ID, role string, inherit bool) error

// Lookup returns an account's index entry.
type Lookup interface {
	Lookup(id cluster.ID) (cluster.Entry, bool)
}

// Accepted is an invite the Acceptor granted.
type Accepted struct {
	// Account is the path of the invite's account.
	Account string
	// Invite is the invite's name.
	Invite string
}

// Acceptor grants a signed-in user's pending invites.
type Acceptor struct {
	// list returns the invites of email in every account, each with its account.
	list func(ctx context.Context, email string) ([]iamv1alpha1.Invite, error)
	// grant adds subject to the grant of role in account id (and below, with inherit).
	grant func(ctx context.Context, id cluster.ID, role string, inherit bool, subject rbacv1.Subject) error
	// updateStatus writes an invite's status.
	updateStatus func(ctx context.Context, id cluster.ID, inv *iamv1alpha1.Invite) error
	check        GrantChecker
	index        Lookup
	now          func() time.Time
}

// NewAcceptor returns an Acceptor that reads and writes through f, asks check whether an
// inviter may still grant, and places accounts with index.
func NewAcceptor(f *client.Factory, check GrantChecker, index Lookup) *Acceptor {
	return &Acceptor{
		list: func(ctx context.Context, email string) ([]iamv1alpha1.Invite, error) {
			l, err := f.AccountMesh(string(cluster.Wildcard)).IamV1alpha1().Invites().List(ctx, metav1.ListOptions{
				FieldSelector: fields.OneTermEqualSelector(iamv1alpha1.InviteEmailField, email).String(),
			})
			if err != nil {
				return nil, fmt.Errorf("failed to list the invites: %w", err)
			}
			return l.Items, nil
		},
		grant: func(ctx context.Context, id cluster.ID, role string, inherit bool, subject rbacv1.Subject) error {
			return addToGrant(ctx, f, id, role, inherit, subject)
		},
		updateStatus: func(ctx context.Context, id cluster.ID, inv *iamv1alpha1.Invite) error {
			_, err := f.AccountMesh(string(id)).IamV1alpha1().Invites().UpdateStatus(ctx, inv, metav1.UpdateOptions{})
			return err
		},
		check: check,
		index: index,
		now:   time.Now,
	}
}

// Accept grants u every pending, unexpired invite of email (a verified address of u) that u's
// identity provider may answer: an organisation's provider (u carries the organisation in its
// extra) answers the invites of that organisation and the accounts below it only, the
// platform's issuer those of every account. Each grant is made only if the invite's inviter
// may still make it; otherwise the invite fails. It returns the invites it granted; an error
// with one invite does not stop the others.
func (a *Acceptor) Accept(ctx context.Context, u user.Info, email string) ([]Accepted, error) {
	email = iamv1alpha1.NormalizeEmail(email)
	if email == "" || u == nil || u.GetName() == "" {
		return nil, nil
	}
	invites, err := a.list(ctx, email)
	if err != nil {
		return nil, err
	}
	org, fromOrg := authentication.OrganizationOf(u)
	var accepted []Accepted
	var errs []error
	for i := range invites {
		inv := &invites[i]
		id := cluster.ID(inv.Annotations[corev1alpha1.ClusterAnnotation])
		e, ok := a.index.Lookup(id)
		if !ok || inv.Spec.Email != email || !a.pending(inv) || (fromOrg && !a.below(id, org)) {
			continue
		}
		ok, err := a.accept(ctx, e, inv, u)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok {
			accepted = append(accepted, Accepted{Account: e.Path, Invite: inv.Name})
		}
	}
	return accepted, errors.Join(errs...)
}

// accept grants one invite to u, or fails it when its inviter may no longer grant it.
func (a *Acceptor) accept(ctx context.Context, e cluster.Entry, inv *iamv1alpha1.Invite, u user.Info) (bool, error) {
	log := klog.FromContext(ctx).WithValues("account", e.Path, "invite", inv.Name, "user", u.GetName())
	inviter := inviterOf(inv)
	if err := a.check(ctx, inviter, e.ID, inv.Spec.Role, inv.Spec.Inherit); err != nil {
		log.V(2).Info("Invite failed: its inviter may no longer grant it", "inviter", inviter.GetName(), "err", err)
		inv.Status = iamv1alpha1.InviteStatus{Phase: iamv1alpha1.InviteFailed,
			Message: fmt.Sprintf("%s may no longer grant %s here; an invite by someone who may is needed", inviter.GetName(), inv.Spec.Role)}
		return false, a.updateStatus(ctx, e.ID, inv)
	}
	subject := rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: u.GetName()}
	if err := a.grant(ctx, e.ID, inv.Spec.Role, inv.Spec.Inherit, subject); err != nil {
		return false, fmt.Errorf("failed to grant invite %s in %s: %w", inv.Name, e.Path, err)
	}
	// A crash here leaves the invite pending with the grant made: the next sign-in adds the
	// subject again, which changes nothing, and accepts it.
	inv.Status = iamv1alpha1.InviteStatus{Phase: iamv1alpha1.InviteAccepted, User: u.GetName(), AcceptedAt: &metav1.Time{Time: a.now()}}
	if err := a.updateStatus(ctx, e.ID, inv); err != nil {
		return false, fmt.Errorf("failed to record invite %s in %s as accepted: %w", inv.Name, e.Path, err)
	}
	log.V(2).Info("Invite accepted", "role", inv.Spec.Role, "inherit", inv.Spec.Inherit)
	return true, nil
}

// pending reports whether inv can still be accepted.
func (a *Acceptor) pending(inv *iamv1alpha1.Invite) bool {
	if p := inv.Status.Phase; p != "" && p != iamv1alpha1.InvitePending {
		return false
	}
	return inv.Spec.ExpiresAt != nil && a.now().Before(inv.Spec.ExpiresAt.Time)
}

// below reports whether account id is org or one of its descendants.
func (a *Acceptor) below(id, org cluster.ID) bool {
	for range cluster.MaxPathLength {
		if id == org {
			return true
		}
		e, ok := a.index.Lookup(id)
		if !ok || e.Parent == "" {
			return false
		}
		id = e.Parent
	}
	return false
}

// inviterOf returns the user who created inv, as the server recorded them.
func inviterOf(inv *iamv1alpha1.Invite) user.Info {
	in := inv.Spec.Inviter
	extra := make(map[string][]string, len(in.Extra))
	for k, v := range in.Extra {
		extra[k] = slices.Clone(v)
	}
	return &user.DefaultInfo{Name: in.Username, UID: in.UID, Groups: slices.Clone(in.Groups), Extra: extra}
}

// addToGrant adds subject to the ClusterRoleBinding that holds the grants of role in account
// id, creating it if needed, as `kubectl mesh grant` does; conflicts are retried.
func addToGrant(ctx context.Context, f *client.Factory, id cluster.ID, role string, inherit bool, subject rbacv1.Subject) error {
	c := f.RbacV1(string(id)).ClusterRoleBindings()
	name := iamv1alpha1.GrantBindingName(role, inherit)
	var err error
	for range 5 {
		var crb *rbacv1.ClusterRoleBinding
		crb, err = c.Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			crb = &rbacv1.ClusterRoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: name},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
				Subjects:   []rbacv1.Subject{subject},
			}
			if inherit {
				crb.Labels = map[string]string{corev1alpha1.InheritLabel: "true"}
			}
			_, err = c.Create(ctx, crb, metav1.CreateOptions{})
		case err != nil:
			return err
		case crb.RoleRef.Kind != "ClusterRole" || crb.RoleRef.Name != role || (crb.Labels[corev1alpha1.InheritLabel] == "true") != inherit:
			// Someone made a binding of that name that grants something else: adding the
			// user to it would grant more, or elsewhere, than the inviter was checked for.
			return fmt.Errorf("ClusterRoleBinding %q does not grant exactly ClusterRole %s", name, role)
		case slices.Contains(crb.Subjects, subject):
			return nil
		default:
			crb.Subjects = append(crb.Subjects, subject)
			_, err = c.Update(ctx, crb, metav1.UpdateOptions{})
		}
		if !apierrors.IsConflict(err) && !apierrors.IsAlreadyExists(err) {
			return err
		}
	}
	return err
}
