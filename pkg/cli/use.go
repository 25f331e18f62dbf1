package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
)

// UseOptions are the options of `kubectl mesh use <account>`, which points the kubeconfig's
// current context at another account.
type UseOptions struct {
	*Options

	// Target is the account argument: absolute, relative, "..", "-" or ":".
	Target string

	clients  *accountClients
	previous string
}

// NewUseOptions returns the options of the use command.
func NewUseOptions(o *Options) *UseOptions {
	return &UseOptions{Options: o}
}

// BindFlags adds the command's flags. use has none of its own.
func (o *UseOptions) BindFlags(*cobra.Command) {}

// Complete reads the argument and the kubeconfig.
func (o *UseOptions) Complete(args []string) error {
	if len(args) > 0 {
		o.Target = args[0]
	}
	var err error
	if o.clients, err = o.loadClients(); err != nil {
		return err
	}
	o.previous, err = o.previousAccount()
	return err
}

// Validate checks the argument.
func (o *UseOptions) Validate() error {
	if o.Target == "" {
		return errors.New("an account is required, e.g. root:acme, team-a, .. or -")
	}
	return nil
}

// Run resolves the target, checks that the account exists and switches to it.
func (o *UseOptions) Run(ctx context.Context) error {
	current := ""
	if IsRelative(o.Target) {
		var err error
		if current, err = o.clients.currentPath(ctx); err != nil {
			return err
		}
	}
	target, err := ResolvePath(current, o.previous, o.Target)
	if err != nil {
		return err
	}
	return o.enter(ctx, o.clients, target)
}

// enter checks that an account exists and is reachable, points the kubeconfig at it and says
// so.
func (o *Options) enter(ctx context.Context, clients *accountClients, account string) error {
	info, err := clients.accountInfo(ctx, account)
	if err != nil {
		return err
	}
	if err := o.switchTo(clients.url.For(info.Path)); err != nil {
		return err
	}
	_, err = fmt.Fprintf(o.Out, "Current account is %q.\n", info.Path)
	return err
}
