package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
)

// CurrentOptions are the options of `kubectl mesh current`, which prints the path of the
// account the kubeconfig points at.
type CurrentOptions struct {
	*Options

	clients *accountClients
}

// NewCurrentOptions returns the options of the current command.
func NewCurrentOptions(o *Options) *CurrentOptions {
	return &CurrentOptions{Options: o}
}

// BindFlags adds the command's flags. current has none of its own.
func (o *CurrentOptions) BindFlags(*cobra.Command) {}

// Complete reads the kubeconfig.
func (o *CurrentOptions) Complete([]string) error {
	var err error
	o.clients, err = o.loadClients()
	return err
}

// Validate has nothing to check.
func (o *CurrentOptions) Validate() error {
	return nil
}

// Run prints the account's path as its AccountInfo says, or, if that cannot be read, as the
// server URL says. An account that does not exist is an error.
func (o *CurrentOptions) Run(ctx context.Context) error {
	path := o.clients.current()
	info, err := o.clients.accountInfo(ctx, path)
	var notFound *AccountNotFoundError
	switch {
	case errors.As(err, &notFound):
		return err
	case err != nil:
		_, _ = fmt.Fprintf(o.ErrOut, "warning: %s; showing the account from the server URL\n", Message(err))
	default:
		path = info.Path
	}
	_, err = fmt.Fprintln(o.Out, path)
	return err
}
