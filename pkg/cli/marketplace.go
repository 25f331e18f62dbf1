package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/yaml"

	apisv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/apis/v1alpha1"
	marketplacev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/marketplace/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/client/clientset/versioned"
)

// MarketplaceOptions are the options of `kubectl mesh marketplace`, which lists the services
// the caller may bind in the current account.
type MarketplaceOptions struct {
	*Options

	// Category keeps the entries of one category.
	Category string
	// Output is "" (a table), wide, yaml or json.
	Output string

	clients *accountClients
}

// NewMarketplaceOptions returns the options of the marketplace command.
func NewMarketplaceOptions(o *Options) *MarketplaceOptions {
	return &MarketplaceOptions{Options: o}
}

// BindFlags adds the command's flags.
func (o *MarketplaceOptions) BindFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.Category, "category", o.Category, "Only services of this category.")
	cmd.Flags().StringVarP(&o.Output, "output", "o", o.Output, "Output format: wide, yaml or json.")
}

// Complete reads the kubeconfig.
func (o *MarketplaceOptions) Complete([]string) error {
	var err error
	o.clients, err = o.loadClients()
	return err
}

// Validate checks the options.
func (o *MarketplaceOptions) Validate() error {
	switch o.Output {
	case "", "wide", "yaml", "json":
		return nil
	}
	return fmt.Errorf("unknown output format %q: use wide, yaml or json", o.Output)
}

// Run lists the entries and prints them.
func (o *MarketplaceOptions) Run(ctx context.Context) error {
	cs, err := o.clients.clientFor(o.clients.current())
	if err != nil {
		return err
	}
	opts := metav1.ListOptions{}
	if o.Category != "" {
		opts.LabelSelector = marketplacev1alpha1.CategoryLabelPrefix + o.Category
	}
	list, err := cs.MarketplaceV1alpha1().MarketplaceEntries().List(ctx, opts)
	if err != nil {
		return fmt.Errorf("failed to list the marketplace: %w", err)
	}
	list.APIVersion, list.Kind = "v1", "List"
	for i := range list.Items {
		list.Items[i].APIVersion, list.Items[i].Kind = marketplacev1alpha1.SchemeGroupVersion.String(), "MarketplaceEntry"
	}
	switch o.Output {
	case "yaml", "json":
		return printObject(o.Out, list, o.Output)
	}
	return RenderMarketplace(o.Out, list.Items, o.Output == "wide")
}

// printObject prints obj as yaml or json.
func printObject(w io.Writer, obj interface{}, format string) error {
	var out []byte
	var err error
	if format == "json" {
		out, err = json.MarshalIndent(obj, "", "    ")
		out = append(out, '\n')
	} else {
		out, err = yaml.Marshal(obj)
	}
	if err != nil {
		return fmt.Errorf("failed to print: %w", err)
	}
	_, err = w.Write(out)
	return err
}

// RenderMarketplace prints entries as a table: NAME PROVIDER SERVICE CATEGORIES MODEL BOUND,
// and with wide EXPORT PLANS READY.
func RenderMarketplace(w io.Writer, entries []marketplacev1alpha1.MarketplaceEntry, wide bool) error {
	if len(entries) == 0 {
		_, err := fmt.Fprintln(w, "No services to bind in this account.")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	header := "NAME\tPROVIDER\tSERVICE\tCATEGORIES\tMODEL\tBOUND"
	if wide {
		header += "\tEXPORT\tPLANS\tREADY"
	}
	_, _ = fmt.Fprintln(tw, header)
	for i := range entries {
		e := &entries[i]
		service := e.Spec.Catalog.DisplayName
		if service == "" {
			service = e.Spec.Export
		}
		var bound []string
		for _, b := range e.Status.Bindings {
			bound = append(bound, b.Name)
		}
		line := strings.Join([]string{e.Name, e.Spec.Provider.Path, service, orNone(strings.Join(e.Spec.Catalog.Categories, ",")),
			orNone(string(e.Spec.Model)), orNone(strings.Join(bound, ","))}, "\t")
		if wide {
			line += "\t" + strings.Join([]string{e.Spec.Export, orNone(planNames(e.Spec.Plans)), readiness(e)}, "\t")
		}
		_, _ = fmt.Fprintln(tw, line)
	}
	return tw.Flush()
}

// orNone is s, or <none> when empty.
func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

// planNames lists plans, the default marked with a star.
func planNames(plans []apisv1alpha1.Plan) string {
	names := make([]string, 0, len(plans))
	for _, p := range plans {
		if p.Default {
			names = append(names, p.Name+"*")
		} else {
			names = append(names, p.Name)
		}
	}
	return strings.Join(names, ",")
}

// readiness is True, or the status and reason of the entry's Ready condition.
func readiness(e *marketplacev1alpha1.MarketplaceEntry) string {
	c := meta.FindStatusCondition(e.Status.Conditions, marketplacev1alpha1.ConditionReady)
	switch {
	case c == nil:
		return "Unknown"
	case c.Status == metav1.ConditionTrue:
		return "True"
	}
	return string(c.Status) + " (" + c.Reason + ")"
}

// MarketplaceDescribeOptions are the options of `kubectl mesh marketplace describe <entry>`.
type MarketplaceDescribeOptions struct {
	*Options

	// Name is the entry's name.
	Name string

	clients *accountClients
}

// NewMarketplaceDescribeOptions returns the options of the describe command.
func NewMarketplaceDescribeOptions(o *Options) *MarketplaceDescribeOptions {
	return &MarketplaceDescribeOptions{Options: o}
}

// BindFlags adds no flags.
func (o *MarketplaceDescribeOptions) BindFlags(*cobra.Command) {}

// Complete reads the argument and the kubeconfig.
func (o *MarketplaceDescribeOptions) Complete(args []string) error {
	if len(args) > 0 {
		o.Name = args[0]
	}
	var err error
	o.clients, err = o.loadClients()
	return err
}

// Validate checks the options.
func (o *MarketplaceDescribeOptions) Validate() error {
	if o.Name == "" {
		return fmt.Errorf("name the marketplace entry (kubectl mesh marketplace lists them)")
	}
	return nil
}

// Run reads the entry and describes it.
func (o *MarketplaceDescribeOptions) Run(ctx context.Context) error {
	cs, err := o.clients.clientFor(o.clients.current())
	if err != nil {
		return err
	}
	e, err := cs.MarketplaceV1alpha1().MarketplaceEntries().Get(ctx, o.Name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("failed to get marketplace entry %q: %w", o.Name, err)
	}
	return DescribeEntry(o.Out, e)
}

// DescribeEntry prints everything an entry says: provider, catalog, model, resources, plans,
// claims, readiness and bindings.
func DescribeEntry(w io.Writer, e *marketplacev1alpha1.MarketplaceEntry) error {
	var b strings.Builder
	field := func(name, value string) {
		if value != "" {
			fmt.Fprintf(&b, "%-15s %s\n", name+":", value)
		}
	}
	field("Name", e.Name)
	provider := e.Spec.Provider.Path
	if e.Spec.Provider.DisplayName != "" {
		provider += " (" + e.Spec.Provider.DisplayName + ")"
	}
	field("Provider", provider)
	field("Export", e.Spec.Export)
	field("Bind with", "kubectl mesh bind "+e.Spec.Provider.Path+"/"+e.Spec.Export)
	field("Service", e.Spec.Catalog.DisplayName)
	field("Description", e.Spec.Catalog.Description)
	field("Categories", strings.Join(e.Spec.Catalog.Categories, ", "))
	field("Documentation", e.Spec.Catalog.DocumentationURL)
	field("Model", orNone(string(e.Spec.Model)))
	field("Locations", strings.Join(e.Spec.Locations, ", "))
	field("Ready", readiness(e))
	if c := meta.FindStatusCondition(e.Status.Conditions, marketplacev1alpha1.ConditionReady); c != nil && c.Status != metav1.ConditionTrue {
		field("Not ready", c.Message)
	}
	b.WriteString("Resources:\n")
	for _, r := range e.Spec.Resources {
		fmt.Fprintf(&b, "  %s.%s\n", r.Resource, r.Group)
	}
	b.WriteString("Plans:")
	if len(e.Spec.Plans) == 0 {
		b.WriteString(" <none>")
	}
	b.WriteString("\n")
	for _, p := range e.Spec.Plans {
		line := "  " + p.Name
		if p.DisplayName != "" {
			line += " (" + p.DisplayName + ")"
		}
		if p.Default {
			line += " [default]"
		}
		if p.Description != "" {
			line += ": " + p.Description
		}
		b.WriteString(line + "\n")
	}
	b.WriteString("Claims:")
	if len(e.Spec.PermissionClaims) == 0 {
		b.WriteString(" <none>")
	}
	b.WriteString("\n")
	for _, c := range e.Spec.PermissionClaims {
		b.WriteString("  " + DescribeClaim(c) + "\n")
	}
	b.WriteString("Bindings:")
	if len(e.Status.Bindings) == 0 {
		b.WriteString(" <none>")
	}
	b.WriteString("\n")
	for _, bd := range e.Status.Bindings {
		fmt.Fprintf(&b, "  %s (%s, plan %s)\n", bd.Name, orNone(string(bd.Phase)), orNone(bd.Plan))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// DescribeClaim says what a claim asks for: its resource, verbs and selector.
func DescribeClaim(c apisv1alpha1.PermissionClaim) string {
	group := c.Group
	if group == "" {
		group = "core"
	}
	s := fmt.Sprintf("%s (%s): %s", c.Resource, group, strings.Join(c.Verbs, ", "))
	if c.Selector != nil {
		sel, err := metav1.LabelSelectorAsSelector(c.Selector)
		if err == nil {
			s += ", only objects labelled " + sel.String()
		}
	} else {
		s += ", every object"
	}
	if c.IdentityHash != "" {
		s += " (of export " + c.IdentityHash + ")"
	}
	return s
}

// BindOptions are the options of `kubectl mesh bind <provider-path>/<export>`, which binds an
// export found in the current account's marketplace and waits until it can be used.
type BindOptions struct {
	*Options

	// Provider is the provider account's path; Export the export's name.
	Provider, Export string
	// Name is the binding's name; the export's by default.
	Name string
	// Plan is the plan; the export's default when empty.
	Plan string
	// AcceptClaims and RejectClaims answer every claim without asking.
	AcceptClaims, RejectClaims bool
	// Timeout bounds the wait.
	Timeout time.Duration

	arg     string
	clients *accountClients
}

// NewBindOptions returns the options of the bind command.
func NewBindOptions(o *Options) *BindOptions {
	return &BindOptions{Options: o, Timeout: 2 * time.Minute}
}

// BindFlags adds the command's flags.
func (o *BindOptions) BindFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.Name, "name", o.Name, "The APIBinding's name (default: the export's).")
	cmd.Flags().StringVar(&o.Plan, "plan", o.Plan, "The plan (default: the export's default plan).")
	cmd.Flags().BoolVar(&o.AcceptClaims, "accept-claims", o.AcceptClaims, "Accept every permission claim of the export without asking.")
	cmd.Flags().BoolVar(&o.RejectClaims, "reject-claims", o.RejectClaims, "Reject every permission claim of the export without asking.")
	cmd.Flags().DurationVar(&o.Timeout, "timeout", o.Timeout, "How long to wait for the binding to be usable (and connected).")
}

// Complete reads the argument and the kubeconfig.
func (o *BindOptions) Complete(args []string) error {
	if len(args) > 0 {
		o.arg = args[0]
		if i := strings.LastIndex(o.arg, "/"); i >= 0 {
			o.Provider, o.Export = o.arg[:i], o.arg[i+1:]
		}
	}
	if o.Name == "" {
		o.Name = o.Export
	}
	var err error
	o.clients, err = o.loadClients()
	return err
}

// Validate checks the options.
func (o *BindOptions) Validate() error {
	switch {
	case o.Provider == "" || o.Export == "":
		return fmt.Errorf("name the export as <provider-path>/<export>, e.g. root:acme:dbaas/db, got %q", o.arg)
	case o.AcceptClaims && o.RejectClaims:
		return fmt.Errorf("--accept-claims and --reject-claims exclude each other")
	}
	return nil
}

// unbindable is the one message for an export that does not exist and one the caller may not
// bind: the marketplace shows neither.
func (o *BindOptions) unbindable() error {
	return fmt.Errorf("APIExport %q of account %q does not exist or you may not bind it in this account (kubectl mesh marketplace lists what you may bind)", o.Export, o.Provider)
}

// Run finds the export in the marketplace, answers its claims, creates the binding and waits
// until its API is served and, for a managed service, connected.
func (o *BindOptions) Run(ctx context.Context) error {
	cs, err := o.clients.clientFor(o.clients.current())
	if err != nil {
		return err
	}
	entry, err := findEntry(ctx, cs, o.Provider, o.Export)
	if err != nil {
		return err
	}
	if entry == nil {
		return o.unbindable()
	}
	claims, err := o.answerClaims(entry.Spec.PermissionClaims)
	if err != nil {
		return err
	}
	b := &apisv1alpha1.APIBinding{
		ObjectMeta: metav1.ObjectMeta{Name: o.Name},
		Spec: apisv1alpha1.APIBindingSpec{
			Reference:        apisv1alpha1.BindingReference{Export: &apisv1alpha1.ExportReference{Path: entry.Spec.Provider.Path, Name: o.Export}},
			Plan:             o.Plan,
			PermissionClaims: claims,
		},
	}
	bindings := cs.ApisV1alpha1().APIBindings()
	created, err := bindings.Create(ctx, b, metav1.CreateOptions{})
	switch {
	case apierrors.IsForbidden(err):
		return o.unbindable()
	case err != nil:
		return fmt.Errorf("failed to create APIBinding %q: %w", o.Name, err)
	}
	plan := created.Spec.Plan
	if plan == "" {
		plan = "<none>"
	}
	_, _ = fmt.Fprintf(o.Out, "apibinding/%s created: %s/%s, plan %s\n", created.Name, entry.Spec.Provider.Path, o.Export, plan)
	managed := entry.Spec.Model != ""
	var last *apisv1alpha1.APIBinding
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, o.Timeout, true, func(ctx context.Context) (bool, error) {
		got, err := bindings.Get(ctx, o.Name, metav1.GetOptions{})
		if err != nil {
			return false, nil //nolint:nilerr // retried until the timeout
		}
		last = got
		ready := meta.IsStatusConditionTrue(got.Status.Conditions, apisv1alpha1.BindingConditionReady)
		connected := !managed || meta.IsStatusConditionTrue(got.Status.Conditions, apisv1alpha1.BindingConditionServiceConnected)
		return ready && connected, nil
	})
	if err != nil {
		return fmt.Errorf("APIBinding %q is not usable after %v: %s", o.Name, o.Timeout, bindingProblem(last, managed))
	}
	return o.report(last, managed)
}

// findEntry returns the marketplace entry of an export, nil when the marketplace has none.
func findEntry(ctx context.Context, cs versioned.Interface, provider, export string) (*marketplacev1alpha1.MarketplaceEntry, error) {
	list, err := cs.MarketplaceV1alpha1().MarketplaceEntries().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("failed to list the marketplace: %w", err)
	}
	for i := range list.Items {
		if e := &list.Items[i]; e.Spec.Export == export && e.Spec.Provider.Path == provider {
			return e, nil
		}
	}
	return nil, nil
}

// answerClaims answers every claim: with the flags, else by asking on a terminal; without a
// terminal it refuses, naming the flags.
func (o *BindOptions) answerClaims(claims []apisv1alpha1.PermissionClaim) ([]apisv1alpha1.AcceptablePermissionClaim, error) {
	if len(claims) == 0 {
		return nil, nil
	}
	interactive := !o.AcceptClaims && !o.RejectClaims
	if interactive && !isTerminal(o.In) {
		return nil, fmt.Errorf("the export claims %d permission(s) in this account (kubectl mesh marketplace describe shows them); answer with --accept-claims or --reject-claims, or run on a terminal to answer each", len(claims))
	}
	in := bufio.NewReader(o.In)
	var out []apisv1alpha1.AcceptablePermissionClaim
	for _, c := range claims {
		state := apisv1alpha1.ClaimRejected
		switch {
		case o.AcceptClaims:
			state = apisv1alpha1.ClaimAccepted
		case interactive:
			_, _ = fmt.Fprintf(o.Out, "The provider claims %s. Accept? [y/N] ", DescribeClaim(c))
			answer, _ := in.ReadString('\n')
			if a := strings.ToLower(strings.TrimSpace(answer)); a == "y" || a == "yes" {
				state = apisv1alpha1.ClaimAccepted
			}
		}
		_, _ = fmt.Fprintf(o.Out, "claim %s: %s\n", strings.ToLower(string(state)), DescribeClaim(c))
		out = append(out, apisv1alpha1.AcceptablePermissionClaim{PermissionClaim: c, State: state})
	}
	return out, nil
}

// isTerminal reports whether r is a terminal.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// bindingProblem says why a binding is not usable yet, from its conditions.
func bindingProblem(b *apisv1alpha1.APIBinding, managed bool) string {
	if b == nil {
		return "it could not be read"
	}
	types := []string{apisv1alpha1.BindingConditionReady}
	if managed {
		types = append(types, apisv1alpha1.BindingConditionServiceConnected)
	}
	for _, t := range types {
		if c := meta.FindStatusCondition(b.Status.Conditions, t); c != nil && c.Status != metav1.ConditionTrue {
			return fmt.Sprintf("%s is %s (%s): %s", t, c.Status, c.Reason, c.Message)
		}
	}
	return "the binding controller has not reported yet"
}

// report prints what the binding brought: its plan, resources and, for a managed service, the
// tenant space and shadow account.
func (o *BindOptions) report(b *apisv1alpha1.APIBinding, managed bool) error {
	var s strings.Builder
	fmt.Fprintf(&s, "apibinding/%s is ready, plan %s; new resources:\n", b.Name, orNone(b.Status.Plan))
	for _, r := range b.Status.BoundResources {
		fmt.Fprintf(&s, "  %s.%s\n", r.Resource, r.Group)
	}
	if managed {
		if ts := b.Status.TenantSpace; ts != nil {
			fmt.Fprintf(&s, "connected: tenant space namespace/%s\n", ts.Namespace)
		}
	}
	_, err := io.WriteString(o.Out, s.String())
	return err
}

// UnbindOptions are the options of `kubectl mesh unbind <binding>`, which deletes a binding and
// waits until its objects are cleaned up and it is gone.
type UnbindOptions struct {
	*Options

	// Name is the binding's name.
	Name string
	// Timeout bounds the wait.
	Timeout time.Duration

	clients *accountClients
}

// NewUnbindOptions returns the options of the unbind command.
func NewUnbindOptions(o *Options) *UnbindOptions {
	return &UnbindOptions{Options: o, Timeout: 2 * time.Minute}
}

// BindFlags adds the command's flags.
func (o *UnbindOptions) BindFlags(cmd *cobra.Command) {
	cmd.Flags().DurationVar(&o.Timeout, "timeout", o.Timeout, "How long to wait for the cleanup.")
}

// Complete reads the argument and the kubeconfig.
func (o *UnbindOptions) Complete(args []string) error {
	if len(args) > 0 {
		o.Name = args[0]
	}
	var err error
	o.clients, err = o.loadClients()
	return err
}

// Validate checks the options.
func (o *UnbindOptions) Validate() error {
	if o.Name == "" {
		return fmt.Errorf("name the APIBinding to delete")
	}
	return nil
}

// Run deletes the binding and waits until it is gone.
func (o *UnbindOptions) Run(ctx context.Context) error {
	cs, err := o.clients.clientFor(o.clients.current())
	if err != nil {
		return err
	}
	bindings := cs.ApisV1alpha1().APIBindings()
	if err := bindings.Delete(ctx, o.Name, metav1.DeleteOptions{}); err != nil {
		return fmt.Errorf("failed to delete APIBinding %q: %w", o.Name, err)
	}
	_, _ = fmt.Fprintf(o.Out, "apibinding/%s deleted; waiting for its objects to be cleaned up\n", o.Name)
	var last *apisv1alpha1.APIBinding
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, o.Timeout, true, func(ctx context.Context) (bool, error) {
		got, err := bindings.Get(ctx, o.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		if err == nil {
			last = got
		}
		return false, nil
	})
	if err != nil {
		problem := "it is still there"
		if c := last; c != nil {
			if u := meta.FindStatusCondition(c.Status.Conditions, apisv1alpha1.BindingConditionUnbound); u != nil {
				problem = u.Reason + ": " + u.Message
			}
		}
		return fmt.Errorf("APIBinding %q was not cleaned up after %v: %s", o.Name, o.Timeout, problem)
	}
	_, err = fmt.Fprintf(o.Out, "apibinding/%s unbound\n", o.Name)
	return err
}
