package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	corev1alpha1client "github.com/accountmesh/accountmesh/pkg/client/clientset/versioned/typed/core/v1alpha1"
)

// Account phases, as the server writes them into status.phase.
const (
	phaseReady       = "Ready"
	phaseTerminating = "Terminating"
)

// CreateOptions are the options of `kubectl mesh create <name>`, which creates a child account
// of the current account and waits until it is Ready.
type CreateOptions struct {
	*Options

	// Name is the name of the new account in the current account.
	Name string
	// Type is the account type (spec.type), e.g. org, account or team; empty lets the server
	// choose the default child type.
	Type string
	// DisplayName is spec.displayName.
	DisplayName string
	// Description is spec.description.
	Description string
	// Enter switches the kubeconfig into the new account once it is Ready.
	Enter bool
	// Timeout is how long to wait for the account to become Ready.
	Timeout time.Duration

	clients *accountClients
}

// NewCreateOptions returns the options of the create command with their defaults.
func NewCreateOptions(o *Options) *CreateOptions {
	return &CreateOptions{Options: o, Timeout: time.Minute}
}

// BindFlags adds the command's flags.
func (o *CreateOptions) BindFlags(cmd *cobra.Command) {
	flags := cmd.Flags()
	flags.StringVar(&o.Type, "type", o.Type, "Type of the account (spec.type), e.g. org, account or team. Defaults to the parent type's default child type.")
	flags.StringVar(&o.DisplayName, "display-name", o.DisplayName, "Human-readable name of the account (spec.displayName).")
	flags.StringVar(&o.Description, "description", o.Description, "What the account is for (spec.description).")
	flags.BoolVar(&o.Enter, "enter", o.Enter, "Switch the current context into the account once it is ready.")
	flags.DurationVar(&o.Timeout, "timeout", o.Timeout, "How long to wait for the account to become ready.")
}

// Complete reads the argument and the kubeconfig.
func (o *CreateOptions) Complete(args []string) error {
	if len(args) > 0 {
		o.Name = args[0]
	}
	var err error
	o.clients, err = o.loadClients()
	return err
}

// Validate checks the options. The account name itself is checked by the server.
func (o *CreateOptions) Validate() error {
	if o.Name == "" {
		return errors.New("an account name is required")
	}
	if o.Timeout <= 0 {
		return fmt.Errorf("--timeout must be positive, got %s", o.Timeout)
	}
	return nil
}

// Run creates the Account, waits until it is Ready and, with --enter, switches into it.
func (o *CreateOptions) Run(ctx context.Context) error {
	parent, err := o.clients.currentPath(ctx)
	if err != nil {
		return err
	}
	cs, err := o.clients.clientFor(o.clients.current())
	if err != nil {
		return err
	}
	accounts := cs.CoreV1alpha1().Accounts()
	created, err := accounts.Create(ctx, o.account(), metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("failed to create account %q in %q: %w", o.Name, parent, err)
	}
	path := parent + PathSeparator + o.Name
	ready, err := o.waitForReady(ctx, accounts, created, path)
	if err != nil {
		return err
	}
	if p := ready.Status.Path; p != "" {
		path = p
	}
	msg := fmt.Sprintf("Account %q is ready.", path)
	if typ := ready.Spec.Type; typ != "" {
		msg = fmt.Sprintf("Account %q (type %s) is ready.", path, typ)
	}
	if _, err := fmt.Fprintln(o.Out, msg); err != nil {
		return err
	}
	if o.Enter {
		return o.enter(ctx, o.clients, path)
	}
	return nil
}

// account is the Account object to create. Only the fields that were given are set, so that
// the server's defaults apply to the rest.
func (o *CreateOptions) account() *corev1alpha1.Account {
	return &corev1alpha1.Account{
		ObjectMeta: metav1.ObjectMeta{Name: o.Name},
		Spec:       corev1alpha1.AccountSpec{Type: o.Type, DisplayName: o.DisplayName, Description: o.Description},
	}
}

// waitForReady watches the Account until its phase is Ready. When the timeout expires it
// returns a *NotReadyError naming the pending initializers.
func (o *CreateOptions) waitForReady(ctx context.Context, accounts corev1alpha1client.AccountInterface, created *corev1alpha1.Account, path string) (*corev1alpha1.Account, error) {
	if phase(created) == phaseReady {
		return created, nil
	}
	waitCtx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()

	byName := fields.OneTermEqualSelector("metadata.name", created.GetName()).String()
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, options metav1.ListOptions) (runtime.Object, error) {
			options.FieldSelector = byName
			return accounts.List(ctx, options)
		},
		WatchFuncWithContext: func(ctx context.Context, options metav1.ListOptions) (watch.Interface, error) {
			options.FieldSelector = byName
			return accounts.Watch(ctx, options)
		},
	}
	last := created
	_, err := watchtools.UntilWithSync(waitCtx, lw, &corev1alpha1.Account{}, nil, func(event watch.Event) (bool, error) {
		obj, ok := event.Object.(*corev1alpha1.Account)
		if !ok {
			return false, nil
		}
		if event.Type == watch.Deleted || phase(obj) == phaseTerminating {
			return false, fmt.Errorf("account %q is being deleted", path)
		}
		last = obj
		return phase(obj) == phaseReady, nil
	})
	switch {
	case err == nil:
		return last, nil
	case waitCtx.Err() != nil && ctx.Err() == nil:
		return nil, &NotReadyError{Path: path, Timeout: o.Timeout, Phase: phase(last), Initializers: last.Status.Initializers}
	default:
		return nil, fmt.Errorf("failed to wait for account %q to become ready: %w", path, err)
	}
}

// phase returns status.phase of an Account.
func phase(account *corev1alpha1.Account) string {
	return string(account.Status.Phase)
}
