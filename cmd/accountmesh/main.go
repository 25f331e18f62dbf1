// Command accountmesh runs the Account Mesh control plane: one process serving many isolated,
// Kubernetes-compatible accounts.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/accountmesh/accountmesh/pkg/backup"
	"github.com/accountmesh/accountmesh/pkg/server"
	"github.com/accountmesh/accountmesh/pkg/version"
)

func main() {
	if err := newRootCommand().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "accountmesh",
		Short:         "Account Mesh: a tree of isolated Kubernetes-compatible accounts in one process",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	klogFlags := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(klogFlags)
	root.PersistentFlags().AddGoFlagSet(klogFlags)
	root.AddCommand(newStartCommand(), newVersionCommand(), newBackupCommand(), newRestoreCommand())
	return root
}

func newStartCommand() *cobra.Command {
	o := server.NewOptions()
	cmd := &cobra.Command{
		Use:   "start",
		Short: "Start Account Mesh (embedded etcd unless --etcd-servers is given)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer cancel()
			return run(ctx, o)
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

func run(ctx context.Context, o *server.Options) error {
	completed, err := o.Complete()
	if err != nil {
		return err
	}
	if err := completed.Validate(); err != nil {
		return err
	}
	return server.NewConfig(completed).Complete().New().Run(ctx)
}

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			v := version.Get()
			_, _ = fmt.Fprintf(cmd.OutOrStdout(), "%s (commit %s, built %s, %s)\n", v.GitVersion, v.GitCommit, v.BuildDate, v.GoVersion)
		},
	}
}

func newBackupCommand() *cobra.Command {
	var kubeconfig, account, out string
	cmd := &cobra.Command{
		Use:   "backup --kubeconfig K --account PATH --out FILE",
		Short: "Write every object of an account and its descendants, read at one etcd revision, to a compressed archive",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if account == "" || out == "" {
				return fmt.Errorf("--account and --out are required")
			}
			cfg, err := restConfig(kubeconfig)
			if err != nil {
				return err
			}
			f, err := os.CreateTemp(filepath.Dir(out), ".backup-*")
			if err != nil {
				return fmt.Errorf("failed to create %s: %w", out, err)
			}
			defer func() { _ = os.Remove(f.Name()) }()
			m, err := backup.Write(cmd.Context(), cfg, account, f)
			if cerr := f.Close(); err == nil && cerr != nil {
				err = fmt.Errorf("failed to write %s: %w", out, cerr)
			}
			if err != nil {
				return err
			}
			if err := os.Rename(f.Name(), out); err != nil {
				return fmt.Errorf("failed to write %s: %w", out, err)
			}
			objects := 0
			for _, a := range m.Accounts {
				objects += a.Objects
			}
			_, _ = fmt.Fprintf(cmd.OutOrStdout(), "backed up %d accounts, %d objects of %s at revision %s to %s\n",
				len(m.Accounts), objects, account, m.ResourceVersion, out)
			return nil
		},
	}
	cmd.Flags().StringVar(&kubeconfig, "kubeconfig", "", "Kubeconfig with credentials that read every object of the subtree (e.g. the admin's); default: KUBECONFIG or ~/.kube/config.")
	cmd.Flags().StringVar(&account, "account", "", "Path of the subtree's top account, e.g. root:acme.")
	cmd.Flags().StringVar(&out, "out", "", "Archive to write (gzip-compressed tar).")
	return cmd
}

// restConfig loads the kubeconfig at path, or as kubectl would without one.
func restConfig(path string) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = path
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("failed to load the kubeconfig: %w", err)
	}
	return cfg, nil
}

func newRestoreCommand() *cobra.Command {
	var kubeconfig, from, into, name string
	cmd := &cobra.Command{
		Use:   "restore --kubeconfig K --from FILE --into PARENT [--name N]",
		Short: "Recreate a backed-up subtree under another parent account, with new cluster IDs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if from == "" || into == "" {
				return fmt.Errorf("--from and --into are required")
			}
			cfg, err := restConfig(kubeconfig)
			if err != nil {
				return err
			}
			f, err := os.Open(from)
			if err != nil {
				return fmt.Errorf("failed to open %s: %w", from, err)
			}
			defer func() { _ = f.Close() }()
			res, err := backup.Restore(cmd.Context(), cfg, f, into, name)
			if err != nil {
				return err
			}
			o := cmd.OutOrStdout()
			_, _ = fmt.Fprintf(o, "restored %d accounts: %d objects created, %d made by the platform already\n", len(res.Accounts), res.Created, res.Existing)
			for _, s := range res.Skipped {
				_, _ = fmt.Fprintf(o, "not restored: %s\n", s)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&kubeconfig, "kubeconfig", "", "Kubeconfig with credentials that create accounts under --into and objects in them (e.g. the admin's).")
	cmd.Flags().StringVar(&from, "from", "", "Archive written by accountmesh backup.")
	cmd.Flags().StringVar(&into, "into", "", "Path of the parent account to restore under, e.g. root:acme.")
	cmd.Flags().StringVar(&name, "name", "", "Name of the restored top account; default: the backed-up one's.")
	return cmd
}
