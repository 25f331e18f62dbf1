package authorization

import (
	"cmp"
	"slices"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apiserver/pkg/authentication/user"

	"github.com/accountmesh/accountmesh/pkg/authentication"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// AccessibleAccounts returns the accounts u can access in the subtree of account under, under
// included: those where a binding names u, every descendant of those where an inherited one
// does, and the shadow accounts where u is admin as a content holder of one of their exports.
// Privileged users can access every account.
func (p *Policy) AccessibleAccounts(u user.Info, under cluster.ID) []cluster.ID {
	confined, ok := authentication.ConfinedTo(u)
	if !ok {
		return p.accessibleAccounts(u, under)
	}
	// Outside its account, a confined identity has only what everyone's groups have.
	everyone := &user.DefaultInfo{Groups: slices.DeleteFunc(slices.Clone(u.GetGroups()), func(g string) bool { return !everyonesGroup(g) })}
	out := p.accessibleAccounts(everyone, under)
	unconfined := &user.DefaultInfo{Name: u.GetName(), UID: u.GetUID(), Groups: u.GetGroups()}
	if !slices.Contains(out, confined) && slices.Contains(p.accessibleAccounts(unconfined, under), confined) {
		out = append(out, confined)
	}
	// Its grants in its own account also make it admin of the shadow accounts below it.
	p.mu.RLock()
	shadows := p.shadowsHeldLocked(u, confined)
	p.mu.RUnlock()
	set := map[cluster.ID]bool{}
	for _, id := range out {
		set[id] = true
	}
	for _, id := range shadows {
		p.addSubtree(set, id)
	}
	return p.sortedWithin(set, under)
}

// shadowsHeldLocked returns the shadow accounts directly below account id in which u is admin
// as a content holder of one of their exports. The caller holds the read lock.
func (p *Policy) shadowsHeldLocked(u user.Info, id cluster.ID) []cluster.ID {
	var out []cluster.ID
	for _, kid := range p.tree.Children(id) {
		if e, ok := p.tree.Lookup(kid); ok && e.Shadow != nil {
			if _, held := p.shadowAdminLocked(u, kid); held {
				out = append(out, kid)
			}
		}
	}
	return out
}

func (p *Policy) accessibleAccounts(u user.Info, under cluster.ID) []cluster.ID {
	set := map[cluster.ID]bool{}
	if IsPrivileged(u) {
		p.addSubtree(set, under)
		return p.sorted(set)
	}
	p.mu.RLock()
	var inheritedFrom, localIn []cluster.ID
	keys := []subjectKey{{userSubject, u.GetName()}}
	for _, g := range u.GetGroups() {
		keys = append(keys, subjectKey{groupSubject, g})
	}
	for _, k := range keys {
		for id, c := range p.holders[k] {
			localIn = append(localIn, id)
			if c.inherited > 0 {
				inheritedFrom = append(inheritedFrom, id)
			}
		}
	}
	// Content rights on an export come from a binding in the provider account (inherited ones
	// already reach its shadow accounts below).
	var shadows []cluster.ID
	for _, id := range localIn {
		shadows = append(shadows, p.shadowsHeldLocked(u, id)...)
	}
	p.mu.RUnlock()
	for _, id := range inheritedFrom {
		p.addSubtree(set, id)
	}
	for _, id := range localIn {
		set[id] = true
	}
	for _, id := range shadows {
		p.addSubtree(set, id)
	}
	return p.sortedWithin(set, under)
}

// addSubtree adds account id and its descendants to set.
func (p *Policy) addSubtree(set map[cluster.ID]bool, id cluster.ID) {
	var descend func(id cluster.ID, depth int)
	descend = func(id cluster.ID, depth int) {
		if set[id] || depth > maxDepth {
			return
		}
		set[id] = true
		for _, kid := range p.tree.Children(id) {
			descend(kid, depth+1)
		}
	}
	descend(id, 0)
}

// sortedWithin returns the accounts of set under (or at) account under, sorted.
func (p *Policy) sortedWithin(set map[cluster.ID]bool, under cluster.ID) []cluster.ID {
	for id := range set {
		if !p.within(id, under) {
			delete(set, id)
		}
	}
	return p.sorted(set)
}

// within reports whether account id is under (or is) account top and connected to root.
func (p *Policy) within(id, top cluster.ID) bool {
	root := p.tree.Root()
	found := false
	for depth := 0; depth < maxDepth; depth++ {
		if id == top {
			found = true
		}
		if id == root {
			return found
		}
		parent, ok := p.tree.Parent(id)
		if !ok {
			return false
		}
		id = parent
	}
	return false
}

func (p *Policy) sorted(set map[cluster.ID]bool) []cluster.ID {
	out := make([]cluster.ID, 0, len(set))
	for id := range set {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// Grant is one binding that applies in an account.
type Grant struct {
	// Account is where the binding lives.
	Account cluster.ID
	// Inherited is set when Account is an ancestor.
	Inherited bool
	// Inheritable is set when the binding flows down.
	Inheritable bool
	// Kind is ClusterRoleBinding or RoleBinding.
	Kind            string
	Namespace, Name string
	RoleRef         rbacv1.RoleRef
	Subjects        []rbacv1.Subject
}

// Grants returns the bindings that apply in account id: its own, sorted by kind, namespace and
// name, then the inherited ones of each ancestor, nearest first.
func (p *Policy) Grants(id cluster.ID) []Grant {
	p.mu.RLock()
	defer p.mu.RUnlock()
	var out []Grant
	local := true
	for depth := 0; depth < maxDepth; depth++ {
		if a := p.accounts[id]; a != nil {
			var level []Grant
			for _, b := range a.bindings {
				if !local && !b.inherit {
					continue
				}
				level = append(level, Grant{
					Account: id, Inherited: !local, Inheritable: b.inherit, Kind: b.kind(),
					Namespace: b.namespace, Name: b.name, RoleRef: b.roleRef, Subjects: slices.Clone(b.subjects),
				})
			}
			slices.SortFunc(level, func(x, y Grant) int {
				if c := cmp.Compare(x.Kind, y.Kind); c != 0 {
					return c
				}
				if c := cmp.Compare(x.Namespace, y.Namespace); c != 0 {
					return c
				}
				return cmp.Compare(x.Name, y.Name)
			})
			out = append(out, level...)
		}
		parent, ok := p.tree.Parent(id)
		if !ok {
			break
		}
		id, local = parent, false
	}
	return out
}
