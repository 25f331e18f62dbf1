package cli

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	orchestrationv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/orchestration/v1alpha1"
)

// ContextStatusOptions are the options of `kubectl mesh context status <name>`, which draws an
// OrchestrationContext's dependency graph with each member's state.
type ContextStatusOptions struct {
	*Options

	// Name is the context's name; Namespace its namespace (the kubeconfig's by default).
	Name, Namespace string

	clients *accountClients
}

// NewContextStatusOptions returns the options of the context status command.
func NewContextStatusOptions(o *Options) *ContextStatusOptions {
	return &ContextStatusOptions{Options: o}
}

// BindFlags adds the command's flags; the namespace comes from the shared -n flag.
func (o *ContextStatusOptions) BindFlags(*cobra.Command) {}

// Complete reads the argument, the namespace and the kubeconfig.
func (o *ContextStatusOptions) Complete(args []string) error {
	if len(args) > 0 {
		o.Name = args[0]
	}
	ns, _, err := o.ConfigFlags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return fmt.Errorf("failed to read the namespace: %w", err)
	}
	o.Namespace = ns
	o.clients, err = o.loadClients()
	return err
}

// Validate checks the options.
func (o *ContextStatusOptions) Validate() error {
	if o.Name == "" {
		return fmt.Errorf("name the orchestration context")
	}
	return nil
}

// Run reads the context in the current account and draws it.
func (o *ContextStatusOptions) Run(ctx context.Context) error {
	cs, err := o.clients.clientFor(o.clients.current())
	if err != nil {
		return err
	}
	oc, err := cs.OrchestrationV1alpha1().OrchestrationContexts(o.Namespace).Get(ctx, o.Name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("failed to get orchestration context %q: %w", o.Name, err)
	}
	return RenderContext(o.Out, oc)
}

// RenderContext draws a context: its summary and conditions, then its members in dependency
// order, each indented by how deep it sits in the graph (its longest chain of dependencies),
// with its account, state, and what it needs and still waits for; a selector member's matches
// are listed under it.
func RenderContext(w io.Writer, oc *orchestrationv1alpha1.OrchestrationContext) error {
	summary := oc.Status.Summary
	if summary == "" {
		summary = "not reported yet"
	}
	var conditions []string
	for _, t := range []string{orchestrationv1alpha1.ConditionReady, orchestrationv1alpha1.ConditionProgressing,
		orchestrationv1alpha1.ConditionDegraded, orchestrationv1alpha1.ConditionDeleting} {
		if c := meta.FindStatusCondition(oc.Status.Conditions, t); c != nil {
			conditions = append(conditions, t+"="+string(c.Status))
		}
	}
	if _, err := fmt.Fprintf(w, "%s/%s: %s  %s\n", oc.Namespace, oc.Name, summary, strings.Join(conditions, " ")); err != nil {
		return err
	}
	states := map[string]orchestrationv1alpha1.MemberStatus{}
	for _, s := range oc.Status.Members {
		states[s.Name] = s
	}
	depth := depths(oc.Spec.Members)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	// A tabwriter reports write errors at Flush.
	_, _ = fmt.Fprintln(tw, "MEMBER\tACCOUNT\tSTATE\tNEEDS\tMESSAGE")
	for _, m := range byDepth(oc.Spec.Members, depth) {
		s, ok := states[m.Name]
		state := "Unknown"
		if ok {
			state = s.Reason
		}
		account := s.Account
		switch {
		case account != "":
		case m.Ref != nil:
			account = m.Ref.Account
		case m.Selector != nil:
			account = m.Selector.Account
		}
		needs := make([]string, 0, len(m.DependsOn))
		for _, d := range m.DependsOn {
			if slices.Contains(s.WaitingFor, d) {
				d += " (waiting)"
			}
			needs = append(needs, d)
		}
		prefix := strings.Repeat("  ", depth[m.Name])
		if depth[m.Name] > 0 {
			prefix = strings.Repeat("  ", depth[m.Name]-1) + "└─"
		}
		_, _ = fmt.Fprintf(tw, "%s%s\t%s\t%s\t%s\t%s\n", prefix, m.Name, account, state, strings.Join(needs, ", "), s.Message)
		if m.Selector == nil {
			continue
		}
		// The objects a selector matches, under it, without the selector's name and account.
		for _, match := range oc.Status.Members {
			rest, ok := strings.CutPrefix(match.Name, m.Name+"/")
			if !ok {
				continue
			}
			rest = strings.TrimPrefix(rest, match.Account+"/")
			_, _ = fmt.Fprintf(tw, "%s  - %s\t%s\t%s\t\t%s\n", strings.Repeat("  ", depth[m.Name]), rest, match.Account, match.Reason, match.Message)
		}
	}
	return tw.Flush()
}

// depths returns, for each member, the length of its longest chain of dependencies; members in
// a cycle, which the server refuses, count as roots.
func depths(members []orchestrationv1alpha1.Member) map[string]int {
	deps := map[string][]string{}
	for _, m := range members {
		deps[m.Name] = m.DependsOn
	}
	out := map[string]int{}
	visiting := map[string]bool{}
	var depth func(name string) int
	depth = func(name string) int {
		if d, ok := out[name]; ok {
			return d
		}
		if visiting[name] {
			return 0
		}
		visiting[name] = true
		d := 0
		for _, dep := range deps[name] {
			if _, known := deps[dep]; known {
				d = max(d, depth(dep)+1)
			}
		}
		out[name] = d
		return d
	}
	for _, m := range members {
		depth(m.Name)
	}
	return out
}

// byDepth orders members by depth, keeping their order within a depth.
func byDepth(members []orchestrationv1alpha1.Member, depth map[string]int) []orchestrationv1alpha1.Member {
	maxDepth := 0
	for _, d := range depth {
		maxDepth = max(maxDepth, d)
	}
	out := make([]orchestrationv1alpha1.Member, 0, len(members))
	for d := 0; d <= maxDepth; d++ {
		for _, m := range members {
			if depth[m.Name] == d {
				out = append(out, m)
			}
		}
	}
	return out
}
