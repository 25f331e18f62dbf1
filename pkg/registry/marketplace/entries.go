package marketplace

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"

	apisv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/apis/v1alpha1"
	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	marketplacev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/marketplace/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/registry/apis"
)

// Deps are what the marketplace reads from the server.
type Deps struct {
	// Index resolves accounts.
	Index apis.Index
	// Authorizer decides bind, as binding creation does.
	Authorizer authorizer.Authorizer
	// Exports returns every export of every account, from the cache; they must not be
	// mutated.
	Exports func() []*apisv1alpha1.APIExport
	// Bindings returns the bindings of an account, from the cache; they must not be mutated.
	Bindings func(id cluster.ID) []*apisv1alpha1.APIBinding
	// DisplayName returns an account's display name, "" when it has none.
	DisplayName func(id cluster.ID) string
	// Changes wakes watches when something entries are computed from changes.
	Changes *Notifier
}

// hashLength is how many hex digits of the hash of provider and export an entry's name ends
// with: 40 bits, so that two exports of one name in different accounts do not meet.
const hashLength = 10

// maxNameLength is the longest object name (a DNS subdomain).
const maxNameLength = 253

// EntryName returns the name of the entry of export in account provider:
// <export>-<hash of provider cluster ID and export>, shortened to a DNS subdomain. It is
// stable for the export's life and the same for every caller and account.
func EntryName(provider cluster.ID, export string) string {
	sum := sha256.Sum256([]byte(string(provider) + "/" + export))
	suffix := "-" + hex.EncodeToString(sum[:])[:hashLength]
	prefix := export
	if n := maxNameLength - len(suffix); len(prefix) > n {
		prefix = strings.TrimRight(prefix[:n], ".-")
	}
	return prefix + suffix
}

// entries computes the entries of account id for user u, sorted by name.
func (d *Deps) entries(ctx context.Context, id cluster.ID, u user.Info) []marketplacev1alpha1.MarketplaceEntry {
	binder, ok := apis.Binder(d.Index, u, id)
	if !ok {
		return nil
	}
	bound := d.boundExports(id)
	var out []marketplacev1alpha1.MarketplaceEntry
	for _, e := range d.Exports() {
		provider := cluster.ID(e.Annotations[corev1alpha1.ClusterAnnotation])
		p, ok := d.Index.Lookup(provider)
		if !ok || p.Deleting || e.DeletionTimestamp != nil {
			continue
		}
		if !apis.MayBindAs(ctx, d.Authorizer, binder, provider, e.Name) {
			continue
		}
		out = append(out, d.entry(p, e, bound[exportKey{provider, e.Name}]))
	}
	slices.SortFunc(out, func(a, b marketplacev1alpha1.MarketplaceEntry) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// exportKey names an export.
type exportKey struct {
	provider cluster.ID
	name     string
}

// boundExports returns the bindings of account id by the export they bind.
func (d *Deps) boundExports(id cluster.ID) map[exportKey][]marketplacev1alpha1.Binding {
	out := map[exportKey][]marketplacev1alpha1.Binding{}
	for _, b := range d.Bindings(id) {
		ref := b.Spec.Reference.Export
		if ref == nil {
			continue
		}
		provider := cluster.ID(b.Status.ExportClusterID)
		if provider == "" {
			var ok bool
			if provider, ok = id, ref.Path == ""; !ok {
				if provider, ok = d.Index.Resolve(ref.Path); !ok {
					continue
				}
			}
		}
		k := exportKey{provider, ref.Name}
		out[k] = append(out[k], marketplacev1alpha1.Binding{Name: b.Name, Phase: b.Status.Phase, Plan: b.Status.Plan})
	}
	for k := range out {
		slices.SortFunc(out[k], func(a, b marketplacev1alpha1.Binding) int { return strings.Compare(a.Name, b.Name) })
	}
	return out
}

// entry is the entry of export e of provider account p.
func (d *Deps) entry(p cluster.Entry, e *apisv1alpha1.APIExport, bindings []marketplacev1alpha1.Binding) marketplacev1alpha1.MarketplaceEntry {
	m := marketplacev1alpha1.MarketplaceEntry{
		TypeMeta:   metav1.TypeMeta{APIVersion: marketplacev1alpha1.SchemeGroupVersion.String(), Kind: "MarketplaceEntry"},
		ObjectMeta: metav1.ObjectMeta{Name: EntryName(p.ID, e.Name), CreationTimestamp: e.CreationTimestamp},
		Spec: marketplacev1alpha1.MarketplaceEntrySpec{
			Provider:         marketplacev1alpha1.Provider{Path: p.Path, DisplayName: d.DisplayName(p.ID)},
			Export:           e.Name,
			Plans:            slices.Clone(e.Plans()),
			PermissionClaims: slices.Clone(e.Spec.PermissionClaims),
		},
		Status: marketplacev1alpha1.MarketplaceEntryStatus{Bindings: bindings},
	}
	if c := e.Spec.Catalog; c != nil {
		m.Spec.Catalog = marketplacev1alpha1.Catalog{
			DisplayName: c.DisplayName, Description: c.Description, Categories: slices.Clone(c.Categories),
			IconURL: c.IconURL, DocumentationURL: c.DocumentationURL,
		}
		for _, cat := range c.Categories {
			if m.Labels == nil {
				m.Labels = map[string]string{}
			}
			m.Labels[marketplacev1alpha1.CategoryLabelPrefix+cat] = "true"
		}
	}
	if s := e.Spec.Service; s != nil {
		m.Spec.Model = s.Model
	}
	for _, r := range e.Spec.Resources {
		m.Spec.Resources = append(m.Spec.Resources, marketplacev1alpha1.ServedResource{Group: r.Group, Resource: r.Name})
	}
	ready := metav1.Condition{Type: marketplacev1alpha1.ConditionReady, Status: metav1.ConditionUnknown, Reason: "Pending",
		Message: "the export has not been checked yet", LastTransitionTime: e.CreationTimestamp}
	if c := meta.FindStatusCondition(e.Status.Conditions, apisv1alpha1.ExportConditionReady); c != nil {
		ready = *c
		ready.ObservedGeneration = 0
	}
	m.Status.Conditions = []metav1.Condition{ready}
	return m
}
