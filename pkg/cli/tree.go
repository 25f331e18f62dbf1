package cli

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
)

// treeConcurrency bounds how many accounts the tree command lists at the same time.
const treeConcurrency = 16

// TreeOptions are the options of `kubectl mesh tree [account]`, which draws the tree of
// accounts below an account.
type TreeOptions struct {
	*Options

	// Target is the account to start from; empty means the current account.
	Target string
	// Depth is how many levels of child accounts to show; 0 means all.
	Depth int

	clients  *accountClients
	previous string
}

// NewTreeOptions returns the options of the tree command.
func NewTreeOptions(o *Options) *TreeOptions {
	return &TreeOptions{Options: o}
}

// BindFlags adds the command's flags.
func (o *TreeOptions) BindFlags(cmd *cobra.Command) {
	cmd.Flags().IntVar(&o.Depth, "depth", o.Depth, "How many levels of child accounts to show; 0 shows all.")
}

// Complete reads the argument and the kubeconfig.
func (o *TreeOptions) Complete(args []string) error {
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

// Validate checks the options.
func (o *TreeOptions) Validate() error {
	if o.Depth < 0 {
		return fmt.Errorf("--depth must not be negative, got %d", o.Depth)
	}
	return nil
}

// Run lists the accounts below the start account, level by level and concurrently, and draws
// them. When the caller may not read the start account, it draws instead the accounts below it
// that the caller can access, from one list of AccessibleAccounts: each under its nearest
// accessible ancestor, named by its path relative to it.
func (o *TreeOptions) Run(ctx context.Context) error {
	start := o.clients.current()
	if o.Target != "" {
		current := ""
		if IsRelative(o.Target) {
			var err error
			if current, err = o.clients.currentPath(ctx); err != nil {
				return err
			}
		}
		var err error
		if start, err = ResolvePath(current, o.previous, o.Target); err != nil {
			return err
		}
	}
	info, err := o.clients.accountInfo(ctx, start)
	if apierrors.IsForbidden(err) {
		// The caller cannot read the start account: draw the accounts they can access below it.
		accessible, err := o.clients.accessibleAccounts(ctx, start)
		if err != nil {
			return err
		}
		return RenderTree(o.Out, accessibleTree(start, accessible, o.Depth))
	}
	if err != nil {
		return err
	}
	root, err := buildTree(ctx, o.clients.listChildren, info.Path, o.Depth)
	if err != nil {
		return err
	}
	return RenderTree(o.Out, root)
}

// child is a child account as listed in its parent.
type child struct {
	name, path, typ, phase string
	// consumerOrg is the consumer organisation of a shadow account.
	consumerOrg string
}

// listChildrenFunc lists the child accounts of an account path.
type listChildrenFunc func(ctx context.Context, path string) ([]child, error)

// listChildren lists the Account objects in an account.
func (c *accountClients) listChildren(ctx context.Context, path string) ([]child, error) {
	cs, err := c.clientFor(path)
	if err != nil {
		return nil, err
	}
	list, err := cs.CoreV1alpha1().Accounts().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("failed to list the accounts in %q: %w", path, err)
	}
	children := make([]child, 0, len(list.Items))
	for i := range list.Items {
		obj := &list.Items[i]
		ch := child{name: obj.Name, phase: phase(obj), typ: obj.Spec.Type, path: obj.Status.Path}
		if obj.Spec.Type == corev1alpha1.TypeShadow {
			ch.consumerOrg = obj.Labels[corev1alpha1.ConsumerOrgLabel]
		}
		if ch.path == "" {
			ch.path = path + PathSeparator + ch.name
		}
		children = append(children, ch)
	}
	return children, nil
}

// buildTree lists the tree below the account at path down to depth levels (0: all), listing
// up to treeConcurrency accounts at a time. An error listing the start account fails the
// whole tree; an error further down is recorded on the node it belongs to, and an account that
// disappeared meanwhile just has no children.
func buildTree(ctx context.Context, list listChildrenFunc, path string, depth int) (*Node, error) {
	root := &Node{Name: path}
	sem := make(chan struct{}, treeConcurrency)
	var wg sync.WaitGroup
	var expand func(n *Node, path string, level int)
	expand = func(n *Node, path string, level int) {
		defer wg.Done()
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			n.Err = ctx.Err()
			return
		}
		children, err := list(ctx, path)
		<-sem
		if err != nil {
			if n != root && apierrors.IsNotFound(err) {
				return
			}
			n.Err = err
			return
		}
		// Sort a copy: the lister may hand out a slice it shares.
		children = slices.Clone(children)
		sort.Slice(children, func(i, j int) bool { return children[i].name < children[j].name })
		n.Children = make([]*Node, len(children))
		for i, ch := range children {
			node := &Node{Name: ch.name, Type: ch.typ, Phase: ch.phase, ConsumerOrg: ch.consumerOrg}
			n.Children[i] = node
			if depth == 0 || level+1 < depth {
				wg.Add(1)
				go expand(node, ch.path, level+1)
			}
		}
	}
	wg.Add(1)
	expand(root, path, 0)
	wg.Wait()
	if root.Err != nil {
		return nil, root.Err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("failed to list the account tree: %w", err)
	}
	return root, nil
}

// accessibleAccounts lists the accounts the caller can access below (and at) an account.
func (c *accountClients) accessibleAccounts(ctx context.Context, account string) ([]child, error) {
	cs, err := c.clientFor(account)
	if err != nil {
		return nil, err
	}
	list, err := cs.AuthorizationV1alpha1().AccessibleAccounts().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("failed to list the accounts you can access below %q: %w", account, err)
	}
	out := make([]child, 0, len(list.Items))
	for i := range list.Items {
		obj := &list.Items[i]
		out = append(out, child{path: obj.Spec.Path, typ: obj.Spec.Type})
	}
	return out, nil
}

// accessibleTree draws accessible accounts below start: each under its nearest accessible
// ancestor, named by its path relative to that ancestor, down to depth levels (0: all).
func accessibleTree(start string, accounts []child, depth int) *Node {
	root := &Node{Name: start}
	// Sorting by segments keeps every account right after its ancestors (":" sorts after "-").
	segments := func(p string) string { return strings.ReplaceAll(p, PathSeparator, "\x00") }
	sort.Slice(accounts, func(i, j int) bool { return segments(accounts[i].path) < segments(accounts[j].path) })
	type placed struct {
		path  string
		node  *Node
		level int
	}
	// stack holds the chain of accessible ancestors of the account being placed.
	stack := []placed{{start, root, 0}}
	for _, a := range accounts {
		if a.path == start {
			root.Type = a.typ
			continue
		}
		for len(stack) > 1 && !strings.HasPrefix(a.path, stack[len(stack)-1].path+PathSeparator) {
			stack = stack[:len(stack)-1]
		}
		parent := stack[len(stack)-1]
		if !strings.HasPrefix(a.path, parent.path+PathSeparator) || (depth > 0 && parent.level >= depth) {
			continue
		}
		n := &Node{Name: strings.TrimPrefix(a.path, parent.path+PathSeparator), Type: a.typ}
		parent.node.Children = append(parent.node.Children, n)
		stack = append(stack, placed{a.path, n, parent.level + 1})
	}
	return root
}
