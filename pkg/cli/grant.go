package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	rbacv1client "k8s.io/client-go/kubernetes/typed/rbac/v1"

	iamv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/iam/v1alpha1"
)

// inheritLabel marks a ClusterRoleBinding that applies in its account and every descendant.
const inheritLabel = "accountmesh.io/inherit"

// GrantOptions are the options of `kubectl mesh grant` and `kubectl mesh revoke`, which add a
// subject to, or remove it from, the ClusterRoleBinding that grants a ClusterRole in the
// current account.
type GrantOptions struct {
	*Options

	// Revoke removes the grant instead of adding it.
	Revoke bool
	// Subject is the user, group or ServiceAccount; Role the ClusterRole.
	Subject rbacv1.Subject
	Role    string
	// Inherit makes the grant apply in every descendant account too.
	Inherit bool
	// Group takes the subject as a group name.
	Group bool

	args    []string
	clients *accountClients
}

// NewGrantOptions returns the options of the grant (revoke false) or revoke command.
func NewGrantOptions(o *Options, revoke bool) *GrantOptions {
	return &GrantOptions{Options: o, Revoke: revoke}
}

// BindFlags adds the command's flags.
func (o *GrantOptions) BindFlags(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&o.Inherit, "inherit", o.Inherit, "The grant applies in this account and every account below it.")
	cmd.Flags().BoolVar(&o.Group, "group", o.Group, "The subject is a group (same as the group: prefix).")
}

// Complete reads the arguments and the kubeconfig.
func (o *GrantOptions) Complete(args []string) error {
	o.args = args
	if len(args) == 2 {
		o.Subject = ParseSubject(args[0], o.Group)
		o.Role = args[1]
	}
	var err error
	o.clients, err = o.loadClients()
	return err
}

// Validate checks the options.
func (o *GrantOptions) Validate() error {
	if len(o.args) != 2 {
		return fmt.Errorf("expected a subject and a role, e.g. alice admin, got %d arguments", len(o.args))
	}
	if o.Subject.Name == "" {
		return fmt.Errorf("the subject %q has no name", o.args[0])
	}
	if o.Subject.Kind == rbacv1.ServiceAccountKind && o.Subject.Namespace == "" {
		return fmt.Errorf("a ServiceAccount subject is serviceaccount:<namespace>:<name>, got %q", o.args[0])
	}
	if o.Role == "" || strings.ContainsAny(o.Role, "/%") {
		return fmt.Errorf("invalid role name %q", o.Role)
	}
	return nil
}

// ParseSubject parses group:<name>, serviceaccount:<namespace>:<name>, user:<name> or a user
// name; group forces a group.
func ParseSubject(s string, group bool) rbacv1.Subject {
	switch {
	case group:
		return rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: strings.TrimPrefix(s, "group:")}
	case strings.HasPrefix(s, "group:"):
		return rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: strings.TrimPrefix(s, "group:")}
	case strings.HasPrefix(s, "serviceaccount:"):
		ns, name, _ := strings.Cut(strings.TrimPrefix(s, "serviceaccount:"), ":")
		return rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: name}
	}
	return rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: strings.TrimPrefix(s, "user:")}
}

func (o *GrantOptions) rbac() (rbacv1client.RbacV1Interface, error) {
	cfg := *o.clients.config
	cfg.Host = o.clients.url.For(o.clients.current())
	return rbacv1client.NewForConfigAndClient(&cfg, o.clients.httpClient)
}

// Run adds or removes the subject, retrying on conflicts.
func (o *GrantOptions) Run(ctx context.Context) error {
	c, err := o.rbac()
	if err != nil {
		return err
	}
	name := iamv1alpha1.GrantBindingName(o.Role, o.Inherit)
	for attempt := 0; ; attempt++ {
		err := o.apply(ctx, c.ClusterRoleBindings(), name)
		if (apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err)) && attempt < 5 {
			continue
		}
		return err
	}
}

func (o *GrantOptions) apply(ctx context.Context, c rbacv1client.ClusterRoleBindingInterface, name string) error {
	crb, err := c.Get(ctx, name, metav1.GetOptions{})
	notFound := apierrors.IsNotFound(err)
	if err != nil && !notFound {
		return fmt.Errorf("failed to read ClusterRoleBinding %q: %w", name, err)
	}
	has := !notFound && slices.ContainsFunc(crb.Subjects, o.sameSubject)
	what := fmt.Sprintf("%s %q", strings.ToLower(o.Subject.Kind), SubjectName(o.Subject))
	where := "in this account"
	if o.Inherit {
		where = "in this account and below"
	}
	switch {
	case o.Revoke && !has:
		return fmt.Errorf("%s holds no %s grant of %q to revoke (see kubectl mesh access)", what, map[bool]string{true: "inherited", false: "local"}[o.Inherit], o.Role)
	case o.Revoke:
		crb.Subjects = slices.DeleteFunc(crb.Subjects, o.sameSubject)
		if len(crb.Subjects) == 0 {
			err = c.Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &crb.ResourceVersion}})
		} else {
			_, err = c.Update(ctx, crb, metav1.UpdateOptions{})
		}
		if err != nil {
			return fmt.Errorf("failed to revoke: %w", err)
		}
		_, err = fmt.Fprintf(o.Out, "revoked %s from %s %s\n", o.Role, what, where)
		return err
	case has:
		_, err = fmt.Fprintf(o.Out, "%s already holds %s %s\n", what, o.Role, where)
		return err
	case notFound:
		crb = &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: o.Role},
			Subjects:   []rbacv1.Subject{o.Subject},
		}
		if o.Inherit {
			crb.Labels = map[string]string{inheritLabel: "true"}
		}
		_, err = c.Create(ctx, crb, metav1.CreateOptions{})
	default:
		crb.Subjects = append(crb.Subjects, o.Subject)
		_, err = c.Update(ctx, crb, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("failed to grant: %w", err)
	}
	_, err = fmt.Fprintf(o.Out, "granted %s to %s %s\n", o.Role, what, where)
	return err
}

func (o *GrantOptions) sameSubject(s rbacv1.Subject) bool {
	return s.Kind == o.Subject.Kind && s.Name == o.Subject.Name && s.Namespace == o.Subject.Namespace
}

// SubjectName is a subject as the commands print it: the name, namespace:name for
// ServiceAccounts.
func SubjectName(s rbacv1.Subject) string {
	if s.Kind == rbacv1.ServiceAccountKind {
		return s.Namespace + ":" + s.Name
	}
	return s.Name
}

// AccessOptions are the options of `kubectl mesh access`, which shows who holds which role in
// the current account, inherited grants included, with the account each comes from.
type AccessOptions struct {
	*Options

	clients *accountClients
}

// NewAccessOptions returns the options of the access command.
func NewAccessOptions(o *Options) *AccessOptions {
	return &AccessOptions{Options: o}
}

// BindFlags adds the command's flags; access has none of its own.
func (o *AccessOptions) BindFlags(*cobra.Command) {}

// Complete reads the kubeconfig.
func (o *AccessOptions) Complete([]string) error {
	var err error
	o.clients, err = o.loadClients()
	return err
}

// Validate has nothing to check.
func (o *AccessOptions) Validate() error { return nil }

// Run lists the AccessGrants of the current account, one line per subject and binding.
func (o *AccessOptions) Run(ctx context.Context) error {
	cs, err := o.clients.clientFor(o.clients.current())
	if err != nil {
		return err
	}
	list, err := cs.AuthorizationV1alpha1().AccessGrants().List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("failed to list the grants of the account: %w", err)
	}
	w := tabwriter.NewWriter(o.Out, 0, 4, 3, ' ', 0)
	_, _ = fmt.Fprintln(w, "SUBJECT\tKIND\tROLE\tNAMESPACE\tFROM\tBINDING")
	for i := range list.Items {
		g := &list.Items[i]
		from := g.Spec.Account
		switch {
		case g.Spec.Inherited:
			from += " (inherited)"
		case g.Spec.Inheritable:
			from += " (here, inherited below)"
		default:
			from += " (here)"
		}
		ns := g.Spec.Namespace
		if ns == "" {
			ns = "*"
		}
		for _, s := range g.Spec.Subjects {
			_, _ = fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s/%s\n", SubjectName(s), s.Kind, g.Spec.RoleRef.Kind+"/"+g.Spec.RoleRef.Name,
				ns, from, g.Spec.Kind, g.Spec.Name)
		}
	}
	return w.Flush()
}
