package cli

import (
	"context"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	iamv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/iam/v1alpha1"
)

// InviteOptions are the options of `kubectl mesh invite`, which creates an Invite in the
// current account: the user who signs in with that verified email address is granted the role.
type InviteOptions struct {
	*Options

	// Email is the invited address; Role the ClusterRole.
	Email string
	Role  string
	// Inherit grants the role in every account below too.
	Inherit bool
	// Expires is how long the invite stays open; 0 leaves the server's default (7 days).
	Expires time.Duration

	args    []string
	clients *accountClients
}

// NewInviteOptions returns the options of the invite command.
func NewInviteOptions(o *Options) *InviteOptions {
	return &InviteOptions{Options: o}
}

// BindFlags adds the command's flags.
func (o *InviteOptions) BindFlags(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&o.Inherit, "inherit", o.Inherit, "The role is granted in this account and every account below it.")
	cmd.Flags().DurationVar(&o.Expires, "expires", o.Expires, "How long the invite stays open, e.g. 48h (default: the server's, 7 days).")
}

// Complete reads the arguments and the kubeconfig.
func (o *InviteOptions) Complete(args []string) error {
	o.args = args
	if len(args) == 2 {
		o.Email, o.Role = strings.TrimSpace(args[0]), args[1]
	}
	var err error
	o.clients, err = o.loadClients()
	return err
}

// Validate checks the options.
func (o *InviteOptions) Validate() error {
	if len(o.args) != 2 {
		return fmt.Errorf("expected an email address and a role, e.g. alice@example.com edit, got %d arguments", len(o.args))
	}
	if a, err := mail.ParseAddress(o.Email); err != nil || a.Address != o.Email {
		return fmt.Errorf("%q is not a plain email address, such as alice@example.com", o.Email)
	}
	if o.Role == "" || strings.ContainsAny(o.Role, "/%") {
		return fmt.Errorf("invalid role name %q", o.Role)
	}
	if o.Expires < 0 {
		return fmt.Errorf("--expires must be positive, got %s", o.Expires)
	}
	return nil
}

// Run creates the invite and prints its name and expiry.
func (o *InviteOptions) Run(ctx context.Context) error {
	cs, err := o.clients.clientFor(o.clients.current())
	if err != nil {
		return err
	}
	inv := &iamv1alpha1.Invite{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "invite-"},
		Spec:       iamv1alpha1.InviteSpec{Email: o.Email, Role: o.Role, Inherit: o.Inherit},
	}
	if o.Expires > 0 {
		inv.Spec.ExpiresAt = &metav1.Time{Time: time.Now().Add(o.Expires).Truncate(time.Second)}
	}
	created, err := cs.IamV1alpha1().Invites().Create(ctx, inv, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("failed to invite %s: %w", o.Email, err)
	}
	where := "in this account"
	if o.Inherit {
		where = "in this account and below"
	}
	expires := ""
	if e := created.Spec.ExpiresAt; e != nil {
		expires = ", open until " + e.UTC().Format(time.RFC3339)
	}
	_, err = fmt.Fprintf(o.Out, "invite/%s: %s will hold %s %s once they sign in with that verified address%s\n",
		created.Name, created.Spec.Email, created.Spec.Role, where, expires)
	return err
}
