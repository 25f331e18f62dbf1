package cli

import (
	"fmt"
	"io"
	"strings"
)

// Node is one account in a drawn tree.
type Node struct {
	// Name is the account's name in its parent; for the top of the tree, its path.
	Name string
	// Type is spec.type, if any.
	Type string
	// Phase is status.phase, if any.
	Phase string
	// ConsumerOrg is, for a shadow account, the cluster ID of the consumer organisation it
	// serves.
	ConsumerOrg string
	// Err is why the account's children could not be listed, if they could not.
	Err error
	// Children are the account's child accounts, in the order to draw them.
	Children []*Node
}

// Label is the node's line without the tree drawing: "name (type, phase)", and for a shadow
// account "[shadow account of organisation <cluster ID>]".
func (n *Node) Label() string {
	var details []string
	for _, d := range []string{n.Type, n.Phase} {
		if d != "" {
			details = append(details, d)
		}
	}
	label := n.Name
	if len(details) > 0 {
		label += " (" + strings.Join(details, ", ") + ")"
	}
	if n.ConsumerOrg != "" {
		label += " [shadow account of organisation " + n.ConsumerOrg + "]"
	}
	if n.Err != nil {
		label += " [cannot list child accounts: " + Message(n.Err) + "]"
	}
	return label
}

// RenderTree draws the tree below root, one account per line, with box-drawing characters:
//
//	root
//	├── acme (org, Ready)
//	│   └── team-a (team, Ready)
//	└── other (org, Ready)
func RenderTree(w io.Writer, root *Node) error {
	var b strings.Builder
	b.WriteString(root.Label())
	b.WriteString("\n")
	renderChildren(&b, root, "")
	_, err := io.WriteString(w, b.String())
	if err != nil {
		return fmt.Errorf("failed to write the tree: %w", err)
	}
	return nil
}

func renderChildren(b *strings.Builder, n *Node, indent string) {
	for i, child := range n.Children {
		branch, next := "├── ", "│   "
		if i == len(n.Children)-1 {
			branch, next = "└── ", "    "
		}
		b.WriteString(indent + branch + child.Label() + "\n")
		renderChildren(b, child, indent+next)
	}
}
