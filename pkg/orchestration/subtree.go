package orchestration

import "github.com/accountmesh/accountmesh/pkg/cluster"

// Tree lists the children of an account (cluster.Index).
type Tree interface {
	Children(id cluster.ID) []cluster.ID
}

// Subtree returns id and the accounts below it, breadth first, and false when there are more
// than limit of them: then it stops walking, so that a selector over a huge subtree costs no
// more than one over limit accounts.
func Subtree(tree Tree, id cluster.ID, limit int) ([]cluster.ID, bool) {
	out := []cluster.ID{id}
	for next := 0; next < len(out); next++ {
		out = append(out, tree.Children(out[next])...)
		if len(out) > limit {
			return nil, false
		}
	}
	return out, true
}
