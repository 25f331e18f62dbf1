// Command kubectl-mesh is the kubectl plugin for Account Mesh: `kubectl mesh use`, `current`,
// `create`, `tree`, `grant`, `revoke`, `invite`, `access`, `context status`, `login` and `get-token`. It only builds the
// cobra command tree; the commands live in pkg/cli.
package main

import (
	"context"
	"os"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/accountmesh/accountmesh/pkg/cli"
)

func main() {
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	if err := newRootCommand(streams).ExecuteContext(context.Background()); err != nil {
		cli.PrintError(streams.ErrOut, err)
		os.Exit(1)
	}
}

// command is what every command's options implement.
type command interface {
	BindFlags(cmd *cobra.Command)
	Complete(args []string) error
	Validate() error
	Run(ctx context.Context) error
}

func newRootCommand(streams genericiooptions.IOStreams) *cobra.Command {
	o := cli.NewOptions(streams)
	root := &cobra.Command{
		Use:   "kubectl mesh",
		Short: "Work with Account Mesh accounts: switch between them, create them, draw their tree, grant access",
		Annotations: map[string]string{
			cobra.CommandDisplayNameAnnotation: "kubectl mesh",
		},
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	o.BindFlags(root)
	root.AddCommand(
		newCommand(cli.NewUseOptions(o), &cobra.Command{
			Use:   "use <account>",
			Short: "Switch the current context to an account",
			Long: `Switch the current context to an account. The account is given as
  root:acme:team-a   an absolute path (":root:acme" works too)
  team-a             a child of the current account (team-a:dev: a grandchild)
  ..                 the parent of the current account (../team-b: a sibling)
  -                  the account before the last switch
  :                  the root account`,
			Example: "  kubectl mesh use root:acme\n  kubectl mesh use team-a\n  kubectl mesh use ..\n  kubectl mesh use -",
			Args:    cobra.ExactArgs(1),
		}),
		newCommand(cli.NewCurrentOptions(o), &cobra.Command{
			Use:   "current",
			Short: "Print the path of the current account",
			Args:  cobra.NoArgs,
		}),
		newCommand(cli.NewCreateOptions(o), &cobra.Command{
			Use:     "create <name>",
			Short:   "Create a child account of the current account and wait until it is ready",
			Example: "  kubectl mesh create team-a --type team --enter",
			Args:    cobra.ExactArgs(1),
		}),
		newCommand(cli.NewTreeOptions(o), &cobra.Command{
			Use:     "tree [account]",
			Short:   "Draw the tree of accounts below an account (default: the current one)",
			Example: "  kubectl mesh tree\n  kubectl mesh tree root --depth 2",
			Args:    cobra.MaximumNArgs(1),
		}),
		newCommand(cli.NewGrantOptions(o, false), &cobra.Command{
			Use:   "grant <subject> <clusterrole>",
			Short: "Grant a ClusterRole in the current account (with --inherit: and every account below it)",
			Long: `Grant a ClusterRole (admin, edit, view or one of the account's own) in the current account.
The subject is
  alice                         a user (user:alice works too)
  group:developers              a group (or --group developers)
  serviceaccount:default:bot    a ServiceAccount of this account
The grant is a subject of the ClusterRoleBinding accountmesh:grant:<role> (accountmesh:grant:<role>:inherited
with --inherit, labelled accountmesh.io/inherit=true), created when needed. You can only grant
what you hold yourself, unless you may bind the role; an inherited grant needs inherited rights.`,
			Example: "  kubectl mesh grant alice admin --inherit\n  kubectl mesh grant group:developers edit\n  kubectl mesh grant --group auditors view",
			Args:    cobra.ArbitraryArgs,
		}),
		newCommand(cli.NewInviteOptions(o), &cobra.Command{
			Use:   "invite <email> <clusterrole>",
			Short: "Invite someone by email to a ClusterRole in the current account (with --inherit: and below)",
			Long: `Invite someone by email address to a ClusterRole in the current account: create an Invite
(iam.accountmesh.io). When a user whose ID token carries that address, verified, signs in to the
console through the platform's issuer or an identity provider of the account's organisation,
they are granted the role as with kubectl mesh grant, and the invite shows Accepted with their
name. You can only invite to what you could grant yourself, and the grant is checked again, as
you, when it is accepted. List invites with kubectl get invites; delete one to revoke it.`,
			Example: "  kubectl mesh invite alice@example.com edit\n  kubectl mesh invite bob@example.com admin --inherit --expires 48h",
			Args:    cobra.ExactArgs(2),
		}),
		newCommand(cli.NewGrantOptions(o, true), &cobra.Command{
			Use:   "revoke <subject> <clusterrole>",
			Short: "Revoke a grant made with kubectl mesh grant (with --inherit: the inherited one)",
			Long: `Revoke a grant made with kubectl mesh grant: remove the subject from the ClusterRoleBinding
accountmesh:grant:<role> (accountmesh:grant:<role>:inherited with --inherit), and delete the
binding when no subject is left. Subjects are written as for grant. Bindings made otherwise are
listed by kubectl mesh access and removed with kubectl.`,
			Example: "  kubectl mesh revoke alice admin --inherit\n  kubectl mesh revoke group:developers edit",
			Args:    cobra.ArbitraryArgs,
		}),
		newCommand(cli.NewAccessOptions(o), &cobra.Command{
			Use:   "access",
			Short: "Show who holds which role in the current account, inherited grants included",
			Long: `Show every binding that applies in the current account, one line per subject: its own
ClusterRoleBindings and RoleBindings, and the inherited ClusterRoleBindings of the accounts above,
with the account each comes from. Needs list on accessgrants.authorization.accountmesh.io (admin has it).`,
			Args: cobra.NoArgs,
		}),
		contextCommand(o),
		marketplaceCommand(o),
		newCommand(cli.NewBindOptions(o), &cobra.Command{
			Use:   "bind <provider-path>/<export>",
			Short: "Bind a service from the marketplace and wait until its API is usable (and connected)",
			Long: `Bind an export that kubectl mesh marketplace lists in the current account: create the
APIBinding (named after the export unless --name), with a plan (--plan, else the export's
default), answering the export's permission claims (--accept-claims, --reject-claims, or one by
one on a terminal), and wait until its resources are served and, for a managed service, the
service is connected. An export that does not exist and one you may not bind read the same.`,
			Example: "  kubectl mesh bind root:acme:dbaas/db --plan pro --accept-claims",
			Args:    cobra.MaximumNArgs(1),
		}),
		newCommand(cli.NewUnbindOptions(o), &cobra.Command{
			Use:     "unbind <binding>",
			Short:   "Delete an APIBinding and wait until its objects are cleaned up",
			Example: "  kubectl mesh unbind db",
			Args:    cobra.MaximumNArgs(1),
		}),
		newCommand(cli.NewLoginOptions(o), &cobra.Command{
			Use:   "login --issuer-url URL --client-id ID",
			Short: "Log in with an OpenID Connect issuer and use the login in the current context",
			Long: `Log in with an OpenID Connect issuer (the platform's or your organisation's identity
provider): the authorization code flow with PKCE on a loopback redirect (the login URL is
printed, or opened with --browser), or the device flow with --device. The tokens are cached
under the user's cache directory (mode 0600) and the current context's user runs
"kubectl-mesh get-token", which refreshes them when they expire.`,
			Example: "  kubectl mesh login --issuer-url https://login.acme.example --client-id mesh\n  kubectl mesh login --issuer-url https://login.acme.example --client-id mesh-device --client-secret s --device",
			Args:    cobra.NoArgs,
		}),
		newCommand(cli.NewGetTokenOptions(o), &cobra.Command{
			Use:    "get-token --issuer-url URL --client-id ID",
			Short:  "Print the cached OIDC login as an exec credential (used by kubectl; see login)",
			Args:   cobra.NoArgs,
			Hidden: true,
		}),
	)
	return root
}

// marketplaceCommand lists the marketplace, and describes an entry of it.
func marketplaceCommand(o *cli.Options) *cobra.Command {
	cmd := newCommand(cli.NewMarketplaceOptions(o), &cobra.Command{
		Use:   "marketplace",
		Short: "List the services you may bind in the current account",
		Long: `List the marketplace of the current account: one entry per export you may bind here, with
its provider, service name, categories, model (Shared or Dedicated for a managed service) and
this account's bindings of it; -o wide adds the export, its plans (the default starred) and
whether it can be bound now.`,
		Example: "  kubectl mesh marketplace --category data\n  kubectl mesh marketplace -o wide\n  kubectl mesh marketplace describe db-0123456789",
		Args:    cobra.NoArgs,
	})
	cmd.AddCommand(newCommand(cli.NewMarketplaceDescribeOptions(o), &cobra.Command{
		Use:   "describe <entry>",
		Short: "Show everything about a marketplace entry: catalog, plans, claims, bindings",
		Args:  cobra.MaximumNArgs(1),
	}))
	return cmd
}

// contextCommand groups the commands about orchestration contexts.
func contextCommand(o *cli.Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "context",
		Short: "Work with orchestration contexts",
	}
	cmd.AddCommand(newCommand(cli.NewContextStatusOptions(o), &cobra.Command{
		Use:     "status <name>",
		Short:   "Draw an orchestration context's dependency graph with each member's state",
		Example: "  kubectl mesh context status shop\n  kubectl mesh context status shop -n payments",
		Args:    cobra.ExactArgs(1),
	}))
	return cmd
}

// newCommand wires a command's options into its cobra command: flags, then Complete, Validate
// and Run.
func newCommand(o command, cmd *cobra.Command) *cobra.Command {
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := o.Complete(args); err != nil {
			return err
		}
		if err := o.Validate(); err != nil {
			return err
		}
		return o.Run(cmd.Context())
	}
	o.BindFlags(cmd)
	return cmd
}
