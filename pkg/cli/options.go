package cli

import (
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Options is what every command shares: the kubeconfig flags and the I/O streams.
type Options struct {
	// ConfigFlags are the standard kubectl connection flags (--kubeconfig, --context, ...).
	ConfigFlags *genericclioptions.ConfigFlags
	genericiooptions.IOStreams
}

// NewOptions returns the shared options, writing to streams.
func NewOptions(streams genericiooptions.IOStreams) *Options {
	return &Options{
		ConfigFlags: genericclioptions.NewConfigFlags(false),
		IOStreams:   streams,
	}
}

// BindFlags adds the kubeconfig flags to cmd as persistent flags, for every subcommand.
func (o *Options) BindFlags(cmd *cobra.Command) {
	o.ConfigFlags.AddFlags(cmd.PersistentFlags())
}

// loadClients returns clients for the accounts of the server that the kubeconfig (with the flag
// overrides) points at.
func (o *Options) loadClients() (*accountClients, error) {
	cfg, err := o.ConfigFlags.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("failed to load the kubeconfig: %w", err)
	}
	return newAccountClients(cfg)
}

// switchTo points the kubeconfig's current context at an account URL and remembers the
// account it pointed at before.
func (o *Options) switchTo(server string) error {
	loader := o.ConfigFlags.ToRawKubeConfigLoader()
	raw, err := loader.RawConfig()
	if err != nil {
		return fmt.Errorf("failed to load the kubeconfig: %w", err)
	}
	from := o.currentContextName(&raw)
	if from == "" {
		return fmt.Errorf("the kubeconfig has no current context")
	}
	if err := SwitchAccount(&raw, from, server); err != nil {
		return err
	}
	if err := clientcmd.ModifyConfig(loader.ConfigAccess(), raw, true); err != nil {
		return fmt.Errorf("failed to write the kubeconfig: %w", err)
	}
	return nil
}

// previousAccount returns the account before the last switch, or "".
func (o *Options) previousAccount() (string, error) {
	raw, err := o.ConfigFlags.ToRawKubeConfigLoader().RawConfig()
	if err != nil {
		return "", fmt.Errorf("failed to load the kubeconfig: %w", err)
	}
	return PreviousAccount(&raw), nil
}

// currentContextName is the context the commands work from: --context, else the kubeconfig's
// current context.
func (o *Options) currentContextName(raw *clientcmdapi.Config) string {
	if o.ConfigFlags.Context != nil && *o.ConfigFlags.Context != "" {
		return *o.ConfigFlags.Context
	}
	return raw.CurrentContext
}
