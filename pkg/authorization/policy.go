package authorization

import (
	"fmt"
	"slices"
	"sync"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apiserver/pkg/authentication/serviceaccount"
	"k8s.io/apiserver/pkg/authentication/user"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/authentication"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// Tree is what the policy needs of the account index.
type Tree interface {
	Root() cluster.ID
	// Parent returns the parent of an account, and false for root and unknown accounts.
	Parent(id cluster.ID) (cluster.ID, bool)
	// Children returns the child accounts of an account.
	Children(id cluster.ID) []cluster.ID
	// Lookup returns an account's entry (its shadow attributes), and false if it is unknown.
	Lookup(id cluster.ID) (cluster.Entry, bool)
}

// maxDepth bounds walks up the tree, against a corrupt index.
const maxDepth = cluster.MaxPathLength / 2

// subjectKind tells users and groups apart in subject keys. ServiceAccount subjects are users
// named system:serviceaccount:<namespace>:<name>.
type subjectKind uint8

const (
	userSubject subjectKind = iota
	groupSubject
)

type subjectKey struct {
	kind subjectKind
	name string
}

// binding is a RoleBinding or ClusterRoleBinding as the evaluator needs it.
type binding struct {
	// namespace is the RoleBinding's namespace; empty for ClusterRoleBindings.
	namespace, name string
	roleRef         rbacv1.RoleRef
	subjects        []rbacv1.Subject
	// inherit is set for ClusterRoleBindings labelled to apply in descendants.
	inherit bool
	// reason is the decision reason when the binding allows a request.
	reason string
}

func (b *binding) kind() string {
	if b.namespace == "" {
		return "ClusterRoleBinding"
	}
	return "RoleBinding"
}

type objectKey struct {
	namespace, name string
}

// bindingKey identifies a binding in an account; ClusterRoleBindings have no namespace, and
// RoleBinding namespaces are never empty.
type bindingKey = objectKey

// accountPolicy is the RBAC state of one account.
type accountPolicy struct {
	roles        map[objectKey]*rbacv1.Role
	clusterRoles map[string]*rbacv1.ClusterRole
	// effective holds the rules of the built-in and aggregated ClusterRoles, recomputed when
	// a ClusterRole of the account changes.
	effective map[string][]rbacv1.PolicyRule
	bindings  map[bindingKey]*binding
	// local indexes every binding by subject; inherited only the inherited ones.
	local, inherited map[subjectKey][]*binding
}

func newAccountPolicy() *accountPolicy {
	return &accountPolicy{
		roles:        map[objectKey]*rbacv1.Role{},
		clusterRoles: map[string]*rbacv1.ClusterRole{},
		bindings:     map[bindingKey]*binding{},
		local:        map[subjectKey][]*binding{},
		inherited:    map[subjectKey][]*binding{},
	}
}

func (p *accountPolicy) empty() bool {
	return len(p.roles) == 0 && len(p.clusterRoles) == 0 && len(p.bindings) == 0
}

// roleRules returns the rules of the role a binding refers to, resolved in this account.
func (p *accountPolicy) roleRules(b *binding) []rbacv1.PolicyRule {
	if b.roleRef.Kind == "Role" {
		if r := p.roles[objectKey{b.namespace, b.roleRef.Name}]; r != nil {
			return r.Rules
		}
		return nil
	}
	return p.clusterRoleRules(b.roleRef.Name)
}

func (p *accountPolicy) clusterRoleRules(name string) []rbacv1.PolicyRule {
	if p != nil {
		if rules, ok := p.effective[name]; ok {
			return rules
		}
		if r := p.clusterRoles[name]; r != nil {
			return r.Rules
		}
	}
	if b, ok := builtinRoles[name]; ok {
		return b.rules
	}
	return nil
}

// aggregate recomputes the rules of the built-in and aggregated ClusterRoles.
func (p *accountPolicy) aggregate() {
	labelled := func(keys []string, self string) []rbacv1.PolicyRule {
		var out []rbacv1.PolicyRule
		for _, name := range sortedKeys(p.clusterRoles) {
			r := p.clusterRoles[name]
			if name == self || r.AggregationRule != nil {
				continue
			}
			for _, k := range keys {
				if r.Labels[k] == "true" {
					out = append(out, r.Rules...)
					break
				}
			}
		}
		return out
	}
	p.effective = map[string][]rbacv1.PolicyRule{}
	for name, b := range builtinRoles {
		if extra := labelled(b.labels, name); len(extra) > 0 {
			p.effective[name] = concat(b.rules, extra)
		}
	}
	for name, r := range p.clusterRoles {
		if r.AggregationRule == nil || IsBuiltinRole(name) {
			continue
		}
		var rules []rbacv1.PolicyRule
		for _, other := range sortedKeys(p.clusterRoles) {
			o := p.clusterRoles[other]
			if other == name || o.AggregationRule != nil {
				continue
			}
			for _, sel := range r.AggregationRule.ClusterRoleSelectors {
				s, err := metav1.LabelSelectorAsSelector(&sel)
				if err == nil && s.Matches(labels.Set(o.Labels)) {
					rules = append(rules, o.Rules...)
					break
				}
			}
		}
		p.effective[name] = rules
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// subjectKeys returns the keys under which a binding subject is indexed; bindingNamespace is
// the default namespace of ServiceAccount subjects of RoleBindings.
func subjectKeyOf(s rbacv1.Subject, bindingNamespace string) (subjectKey, bool) {
	switch s.Kind {
	case rbacv1.UserKind:
		return subjectKey{userSubject, s.Name}, true
	case rbacv1.GroupKind:
		return subjectKey{groupSubject, s.Name}, true
	case rbacv1.ServiceAccountKind:
		ns := s.Namespace
		if ns == "" {
			ns = bindingNamespace
		}
		if ns == "" {
			return subjectKey{}, false
		}
		return subjectKey{userSubject, serviceaccount.MakeUsername(ns, s.Name)}, true
	}
	return subjectKey{}, false
}

// Policy is the RBAC state of every account, indexed by account and subject. The informer
// handlers write it; decisions read it under a read lock without allocating.
type Policy struct {
	tree Tree

	mu       sync.RWMutex
	accounts map[cluster.ID]*accountPolicy
	// holders counts, per subject and account, the bindings that name the subject, for the
	// list of accessible accounts.
	holders map[subjectKey]map[cluster.ID]*holdCount
}

type holdCount struct{ local, inherited int }

// NewPolicy returns an empty policy over the account tree.
func NewPolicy(tree Tree) *Policy {
	return &Policy{tree: tree, accounts: map[cluster.ID]*accountPolicy{}, holders: map[subjectKey]map[cluster.ID]*holdCount{}}
}

func (p *Policy) accountLocked(id cluster.ID) *accountPolicy {
	a := p.accounts[id]
	if a == nil {
		a = newAccountPolicy()
		p.accounts[id] = a
	}
	return a
}

func (p *Policy) gcLocked(id cluster.ID) {
	if a := p.accounts[id]; a != nil && a.empty() {
		delete(p.accounts, id)
	}
}

// SetRole records a Role; nil deletes the role key.
func (p *Policy) SetRole(id cluster.ID, key objectKey, r *rbacv1.Role) {
	p.mu.Lock()
	defer p.mu.Unlock()
	a := p.accountLocked(id)
	if r == nil {
		delete(a.roles, key)
	} else {
		a.roles[key] = r
	}
	p.gcLocked(id)
}

// SetClusterRole records a ClusterRole; nil deletes it.
func (p *Policy) SetClusterRole(id cluster.ID, name string, r *rbacv1.ClusterRole) {
	p.mu.Lock()
	defer p.mu.Unlock()
	a := p.accountLocked(id)
	old := a.clusterRoles[name]
	if r == nil {
		delete(a.clusterRoles, name)
	} else {
		a.clusterRoles[name] = r
	}
	if aggregationRelevant(old) || aggregationRelevant(r) {
		a.aggregate()
	}
	p.gcLocked(id)
}

// aggregationRelevant reports whether a ClusterRole may take part in aggregation: it
// aggregates, or it has labels.
func aggregationRelevant(r *rbacv1.ClusterRole) bool {
	return r != nil && (r.AggregationRule != nil || len(r.Labels) > 0)
}

// SetBinding records a binding of account id under key; nil deletes it.
func (p *Policy) SetBinding(id cluster.ID, key bindingKey, b *binding) {
	p.mu.Lock()
	defer p.mu.Unlock()
	a := p.accountLocked(id)
	if old := a.bindings[key]; old != nil {
		p.indexLocked(id, a, old, -1)
		delete(a.bindings, key)
	}
	if b != nil {
		a.bindings[key] = b
		p.indexLocked(id, a, b, +1)
	}
	p.gcLocked(id)
}

// indexLocked adds (delta +1) or removes (-1) the subject index entries of b.
func (p *Policy) indexLocked(id cluster.ID, a *accountPolicy, b *binding, delta int) {
	seen := map[subjectKey]bool{}
	for _, s := range b.subjects {
		k, ok := subjectKeyOf(s, b.namespace)
		if !ok || seen[k] {
			continue
		}
		seen[k] = true
		update := func(idx map[subjectKey][]*binding) {
			if delta > 0 {
				idx[k] = append(idx[k], b)
				return
			}
			list := slices.DeleteFunc(slices.Clone(idx[k]), func(x *binding) bool { return x == b })
			if len(list) == 0 {
				delete(idx, k)
			} else {
				idx[k] = list
			}
		}
		// ServiceAccount names repeat in every account, and a token works only in its own: a
		// ServiceAccount subject never flows down.
		inherits := b.inherit && s.Kind != rbacv1.ServiceAccountKind
		update(a.local)
		if inherits {
			update(a.inherited)
		}
		accounts := p.holders[k]
		if accounts == nil {
			accounts = map[cluster.ID]*holdCount{}
			p.holders[k] = accounts
		}
		c := accounts[id]
		if c == nil {
			c = &holdCount{}
			accounts[id] = c
		}
		c.local += delta
		if inherits {
			c.inherited += delta
		}
		if c.local <= 0 {
			delete(accounts, id)
			if len(accounts) == 0 {
				delete(p.holders, k)
			}
		}
	}
}

// newBinding converts a RoleBinding or ClusterRoleBinding.
func newBinding(namespace string, meta metav1.ObjectMeta, ref rbacv1.RoleRef, subjects []rbacv1.Subject) *binding {
	b := &binding{
		namespace: namespace, name: meta.Name, roleRef: ref, subjects: subjects,
		inherit: namespace == "" && meta.Labels[corev1alpha1.InheritLabel] == "true",
	}
	b.reason = fmt.Sprintf("RBAC: allowed by %s %q of %s %q", b.kind(), b.name, ref.Kind, ref.Name)
	if b.inherit {
		b.reason = fmt.Sprintf("RBAC: allowed by inherited %s %q of %s %q", b.kind(), b.name, ref.Kind, ref.Name)
	}
	return b
}

// visit walks the bindings that apply to u in account id, nearest account first: every binding
// of the account, then the inherited ones of each ancestor. Only bindings of namespace ns and
// ClusterRoleBindings are visited; ns "*" visits every namespace. fn returns false to stop.
// The caller holds the read lock.
func (p *Policy) visitLocked(u user.Info, id cluster.ID, ns string, fn func(acc cluster.ID, a *accountPolicy, b *binding) bool) {
	name, groups := u.GetName(), u.GetGroups()
	if confined, ok := authentication.ConfinedTo(u); ok && confined != id {
		name, groups = "", slices.DeleteFunc(slices.Clone(groups), func(g string) bool { return !everyonesGroup(g) })
	}
	local := true
	for depth := 0; depth < maxDepth; depth++ {
		if a := p.accounts[id]; a != nil {
			idx := a.inherited
			if local {
				idx = a.local
			}
			if name != "" && !visitSubject(idx, subjectKey{userSubject, name}, ns, id, a, fn) {
				return
			}
			for _, g := range groups {
				if !visitSubject(idx, subjectKey{groupSubject, g}, ns, id, a, fn) {
					return
				}
			}
		}
		parent, ok := p.tree.Parent(id)
		if !ok {
			return
		}
		id, local = parent, false
	}
}

// everyonesGroup reports whether a group says nothing of who the user is: every authenticated
// user has it, or the server added it for one decision (the bind check's consumer account).
// Outside its account, a confined identity (authentication.ConfinedTo) holds what bindings to
// these groups grant, and nothing else.
func everyonesGroup(g string) bool {
	return g == user.AllAuthenticated || authentication.IsReservedGroup(g)
}

func visitSubject(idx map[subjectKey][]*binding, k subjectKey, ns string, id cluster.ID, a *accountPolicy,
	fn func(cluster.ID, *accountPolicy, *binding) bool) bool {
	for _, b := range idx[k] {
		if b.namespace != "" && ns != "*" && b.namespace != ns {
			continue
		}
		if !fn(id, a, b) {
			return false
		}
	}
	return true
}

// FlowsDown reports whether the rules of ClusterRole r, in account id, reach the accounts
// below: an inherited ClusterRoleBinding of the account refers to it, or to a role it
// aggregates into (a built-in role by its aggregation labels, or a ClusterRole whose
// aggregationRule selects it). Changing such a role changes what inherited bindings grant.
func (p *Policy) FlowsDown(id cluster.ID, r *rbacv1.ClusterRole) bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	a := p.accounts[id]
	if a == nil {
		return false
	}
	for _, b := range a.bindings {
		if !b.inherit || b.roleRef.Kind != "ClusterRole" {
			continue
		}
		if b.roleRef.Name == r.Name || r.AggregationRule == nil && aggregatesInto(a, r, b.roleRef.Name) {
			return true
		}
	}
	return false
}

// aggregatesInto reports whether r's rules join those of the ClusterRole target in account a.
func aggregatesInto(a *accountPolicy, r *rbacv1.ClusterRole, target string) bool {
	if b, ok := builtinRoles[target]; ok {
		for _, k := range b.labels {
			if r.Labels[k] == "true" {
				return true
			}
		}
		return false
	}
	t := a.clusterRoles[target]
	if t == nil || t.AggregationRule == nil {
		return false
	}
	for _, sel := range t.AggregationRule.ClusterRoleSelectors {
		s, err := metav1.LabelSelectorAsSelector(&sel)
		if err == nil && s.Matches(labels.Set(r.Labels)) {
			return true
		}
	}
	return false
}
