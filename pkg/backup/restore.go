package backup

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/util/retry"

	apisv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/apis/v1alpha1"
	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
)

// Restored says what Restore did.
type Restored struct {
	// Accounts maps each backed-up account's path to the path it was restored at.
	Accounts map[string]string
	// Created counts the objects created; Existing those the new accounts already had (made
	// by the platform: default namespace, ServiceAccount, CA bundle, owner binding).
	Created, Existing int
	// Skipped lists what was not restored, and why.
	Skipped []string
}

// order is the order in which kinds are created in an account; others come after, custom
// resources last. Schemas come before the exports that name them; bindings and the objects of
// the resources they serve are created in a second pass, once every export of the subtree is.
var order = []string{"CustomResourceDefinition", "AccountType", "Namespace", "ClusterRole", "Role",
	"ClusterRoleBinding", "RoleBinding", "ServiceAccount", "Secret", "ConfigMap", "APIResourceSchema", "APIExport"}

// bindTimeout bounds the wait for a restored binding to serve its resources.
const bindTimeout = time.Minute

// Restore recreates the subtree of the archive read from r as the account name (default: the
// backed-up top account's name) under the account at into, through cfg: new accounts with
// new cluster IDs, then each account's objects without their server-set metadata. Exports
// and schemas of the subtree are recreated with new identities; bindings come last, their
// references to accounts of the subtree rewritten, each followed, once it serves its
// resources, by the objects of those resources. A binding that cannot be made again (its
// export is gone, or the caller may not bind it) is reported with its objects.
func Restore(ctx context.Context, cfg *rest.Config, r io.Reader, into, name string) (*Restored, error) {
	m, files, err := Read(r)
	if err != nil {
		return nil, err
	}
	if name == "" {
		_, name, _ = cutLast(m.Account)
		if name == "" {
			return nil, fmt.Errorf("restoring root needs --name")
		}
	}
	base := cfg.Host
	if i := strings.Index(base, "/clusters/"); i >= 0 {
		base = base[:i]
	}
	rs := &restorer{
		writer:   &writer{cfg: cfg, base: strings.TrimSuffix(base, "/")},
		res:      &Restored{Accounts: map[string]string{}},
		paths:    map[string]string{},
		hashes:   map[string]string{},
		deferred: map[string][]deferred{},
	}
	for _, a := range m.Accounts {
		rs.paths[a.ClusterID] = a.Path
	}
	top := &unstructured.Unstructured{Object: map[string]any{}}
	if m.TopAccount != nil {
		top.Object = m.TopAccount
	}
	top.SetAPIVersion(corev1alpha1.SchemeGroupVersion.String())
	top.SetKind("Account")
	top.SetName(name)
	if err := rs.create(ctx, into, clean(top)); err != nil {
		return nil, err
	}
	rs.res.Accounts[m.Account] = into + ":" + name
	// Accounts are filled level by level, those of a level side by side: each waits until
	// its Account, created by its parent's filling, is Ready.
	levels := byLevel(m.Accounts)
	for _, level := range levels {
		if err := parallel(ctx, level, func(ctx context.Context, a Account) error { return rs.account(ctx, a, files[a.File]) }); err != nil {
			return nil, err
		}
	}
	if err := rs.identities(ctx); err != nil {
		return nil, err
	}
	for _, level := range levels {
		if err := parallel(ctx, level, rs.bindings); err != nil {
			return nil, err
		}
	}
	return rs.res, nil
}

// workers is how many accounts a restore fills at once.
const workers = 8

// byLevel groups accounts by their depth in the tree, the top's first.
func byLevel(accounts []Account) [][]Account {
	var levels [][]Account
	depth := map[string]int{}
	for _, a := range accounts {
		d := 0
		if parent, _, ok := cutLast(a.Path); ok {
			if pd, ok := depth[parent]; ok {
				d = pd + 1
			}
		}
		depth[a.Path] = d
		for len(levels) <= d {
			levels = append(levels, nil)
		}
		levels[d] = append(levels[d], a)
	}
	return levels
}

// parallel runs f for every account, workers at a time, and returns the first error; the
// first error cancels the others.
func parallel(ctx context.Context, accounts []Account, f func(context.Context, Account) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	for _, a := range accounts {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := f(ctx, a); err != nil {
				cancel(err)
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}

// restorer holds what a restore learns as it goes.
type restorer struct {
	*writer
	// mu guards res and the fields below while accounts are filled side by side.
	mu  sync.Mutex
	res *Restored
	// paths maps the backed-up accounts' cluster IDs to their paths then.
	paths map[string]string
	// exports are the restored exports: where, and their identity hash in the backup.
	exports []restoredExport
	// hashes maps the identity hashes of the backed-up exports to their new ones.
	hashes map[string]string
	// deferred holds, per backed-up account path, its bindings, the objects of the
	// resources they serve and those of their tenant spaces, for the second pass.
	deferred map[string][]deferred
}

// deferred is an object left for the second pass.
type deferred struct {
	unstructured.Unstructured
	// bound: its resource is served by a binding; tenantSpace: it is in a tenant space.
	bound, tenantSpace bool
}

type restoredExport struct {
	path, name, oldHash string
	claims              bool
}

// account creates the backed-up account a's objects in its new account, but for its
// bindings and their resources' objects, which it keeps for the second pass.
func (rs *restorer) account(ctx context.Context, a Account, objects []unstructured.Unstructured) error {
	path := rs.pathOf(a.Path)
	if path == "" {
		// Below an account that was not restored (a shadow account).
		rs.skip("the %d objects of %s: its account was not restored", len(objects), a.Path)
		return nil
	}
	if err := rs.waitReady(ctx, path); err != nil {
		return err
	}
	// An export's identity key stays with the export: restored, it would let an export of
	// that name here take the original's identity. The export gets a new one.
	identities := map[string]bool{}
	// The groups served by the account's bindings, unless a CRD of the account serves the
	// group too: their objects wait until the binding serves them again.
	bound := map[string]bool{}
	for _, o := range objects {
		switch o.GetKind() {
		case "APIExport":
			ns, name := metav1.NamespaceDefault, o.GetName()+"-identity"
			if ref, ok, _ := unstructured.NestedMap(o.Object, "spec", "identity", "secretRef"); ok {
				if n, _ := ref["name"].(string); n != "" {
					name = n
				}
				if n, _ := ref["namespace"].(string); n != "" {
					ns = n
				}
			}
			identities[ns+"/"+name] = true
		case "APIBinding":
			for _, g := range boundGroups(o) {
				bound[g] = true
			}
		}
	}
	// A managed service's tenant spaces are the platform's to make, labelled for their
	// binding (no one else may set the label): their content waits until the restored
	// binding has its tenant space again.
	tenantSpaces := map[string]bool{}
	for _, o := range objects {
		if o.GetKind() == "Namespace" && o.GroupVersionKind().Group == "" && o.GetLabels()[apisv1alpha1.TenantSpaceLabel] != "" {
			tenantSpaces[o.GetName()] = true
		}
	}
	for _, o := range objects {
		if o.GetKind() == "CustomResourceDefinition" {
			group, _, _ := unstructured.NestedString(o.Object, "spec", "group")
			delete(bound, group)
		}
	}
	slices.SortStableFunc(objects, func(x, y unstructured.Unstructured) int { return rank(x) - rank(y) })
	for _, o := range objects {
		o := o
		switch {
		case o.GetKind() == "Namespace" && o.GroupVersionKind().Group == "" && tenantSpaces[o.GetName()]:
			continue
		case o.GetKind() == "APIBinding" && o.GroupVersionKind().Group == apisv1alpha1.GroupName, bound[o.GroupVersionKind().Group],
			tenantSpaces[o.GetNamespace()]:
			rs.mu.Lock()
			rs.deferred[a.Path] = append(rs.deferred[a.Path], deferred{Unstructured: o, bound: bound[o.GroupVersionKind().Group], tenantSpace: tenantSpaces[o.GetNamespace()]})
			rs.mu.Unlock()
			continue
		case o.GetKind() == "Secret" && o.GroupVersionKind().Group == "" && identities[o.GetNamespace()+"/"+o.GetName()]:
			rs.skip("Secret %s/%s in %s: an export's identity key (the restored export has a new identity)", o.GetNamespace(), o.GetName(), a.Path)
			continue
		case o.GetKind() == "Account" && o.GroupVersionKind().Group == corev1alpha1.GroupName:
			if t, _, _ := unstructured.NestedString(o.Object, "spec", "type"); t == corev1alpha1.TypeShadow {
				rs.skip("Account %s in %s: a shadow account, made by the platform for its managed services' consumers", o.GetName(), a.Path)
				continue
			}
			rs.mu.Lock()
			rs.res.Accounts[a.Path+":"+o.GetName()] = path + ":" + o.GetName()
			rs.mu.Unlock()
		case o.GetKind() == "APIExport" && o.GroupVersionKind().Group == apisv1alpha1.GroupName:
			hash, _, _ := unstructured.NestedString(o.Object, "status", "identityHash")
			claims, _, _ := unstructured.NestedSlice(o.Object, "spec", "permissionClaims")
			rs.mu.Lock()
			rs.exports = append(rs.exports, restoredExport{path: path, name: o.GetName(), oldHash: hash, claims: len(claims) > 0})
			rs.mu.Unlock()
			o = *o.DeepCopy()
			unstructured.RemoveNestedField(o.Object, "spec", "identity")
		}
		if err := rs.create(ctx, path, clean(&o)); err != nil {
			return err
		}
	}
	return nil
}

// boundGroups returns the groups of the resources a backed-up binding served.
func boundGroups(b unstructured.Unstructured) []string {
	var groups []string
	resources, _, _ := unstructured.NestedSlice(b.Object, "status", "boundResources")
	for _, r := range resources {
		if m, ok := r.(map[string]any); ok {
			if g, ok := m["group"].(string); ok {
				groups = append(groups, g)
			}
		}
	}
	return groups
}

// skip reports what was not restored.
func (rs *restorer) skip(format string, args ...any) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.res.Skipped = append(rs.res.Skipped, fmt.Sprintf(format, args...))
}

// pathOf returns where the backed-up account at path is restored.
func (rs *restorer) pathOf(path string) string {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.res.Accounts[path]
}

// count counts an object created, or one the new account already had.
func (rs *restorer) count(created bool) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if created {
		rs.res.Created++
	} else {
		rs.res.Existing++
	}
}

// create creates o in the account at path, and counts it.
func (rs *restorer) create(ctx context.Context, path string, o *unstructured.Unstructured) error {
	created, err := rs.writer.create(ctx, path, o)
	if err != nil {
		return err
	}
	rs.count(created)
	return nil
}

// identities waits for the restored exports' new identities and rewrites the claims of
// restored exports that name an export of the subtree by its old identity.
func (rs *restorer) identities(ctx context.Context) error {
	for _, e := range rs.exports {
		d, err := rs.dynamic(e.path)
		if err != nil {
			return err
		}
		var hash string
		err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, bindTimeout, true, func(ctx context.Context) (bool, error) {
			o, err := d.Resource(apisv1alpha1.SchemeGroupVersion.WithResource("apiexports")).Get(ctx, e.name, metav1.GetOptions{})
			if err != nil {
				return false, nil
			}
			hash, _, _ = unstructured.NestedString(o.Object, "status", "identityHash")
			return hash != "", nil
		})
		if err != nil {
			return fmt.Errorf("the restored APIExport %s in %s got no identity: %w", e.name, e.path, err)
		}
		if e.oldHash != "" {
			rs.hashes[e.oldHash] = hash
		}
	}
	for _, e := range rs.exports {
		if !e.claims {
			continue
		}
		d, err := rs.dynamic(e.path)
		if err != nil {
			return err
		}
		exports := d.Resource(apisv1alpha1.SchemeGroupVersion.WithResource("apiexports"))
		err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
			o, err := exports.Get(ctx, e.name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if !rs.rewriteClaims(o) {
				return nil
			}
			_, err = exports.Update(ctx, o, metav1.UpdateOptions{})
			return err
		})
		if err != nil {
			return fmt.Errorf("failed to update the claims of APIExport %s in %s: %w", e.name, e.path, err)
		}
	}
	return nil
}

// rewriteClaims replaces, in o's spec.permissionClaims, the old identity hashes of the
// subtree's exports with their new ones, and reports whether it changed anything.
func (rs *restorer) rewriteClaims(o *unstructured.Unstructured) bool {
	claims, ok, _ := unstructured.NestedSlice(o.Object, "spec", "permissionClaims")
	if !ok {
		return false
	}
	changed := false
	for _, c := range claims {
		m, ok := c.(map[string]any)
		if !ok {
			continue
		}
		if h, _ := m["identityHash"].(string); rs.hashes[h] != "" {
			m["identityHash"] = rs.hashes[h]
			changed = true
		}
	}
	if changed {
		_ = unstructured.SetNestedSlice(o.Object, claims, "spec", "permissionClaims")
	}
	return changed
}

// rewritePath returns the path at which the backed-up account at path (or with that cluster
// ID) was restored, and whether it is in the subtree.
func (rs *restorer) rewritePath(path string) (string, bool) {
	if old, ok := rs.paths[path]; ok {
		path = old
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	p, ok := rs.res.Accounts[path]
	return p, ok
}

// bindings creates the backed-up account a's bindings in its new account, each followed, once
// it serves its resources, by their objects; what cannot be bound again is reported.
func (rs *restorer) bindings(ctx context.Context, a Account) error {
	path := rs.pathOf(a.Path)
	if path == "" {
		return nil
	}
	// ready holds the groups served again, spaces the tenant spaces made again.
	ready, spaces := map[string]bool{}, map[string]bool{}
	var objects []deferred
	rs.mu.Lock()
	pending := rs.deferred[a.Path]
	rs.mu.Unlock()
	for _, d := range pending {
		o := d.Unstructured
		if o.GetKind() != "APIBinding" || o.GroupVersionKind().Group != apisv1alpha1.GroupName {
			objects = append(objects, d)
			continue
		}
		ok, err := rs.binding(ctx, a, path, o)
		if err != nil {
			return err
		}
		for _, g := range boundGroups(o) {
			ready[g] = ready[g] || ok
		}
		if ns, _, _ := unstructured.NestedString(o.Object, "status", "tenantSpace", "namespace"); ns != "" && ok {
			if err := rs.waitTenantSpace(ctx, path, ns, o.GetName()); err != nil {
				rs.skip("the tenant space %s of APIBinding %s in %s: %v", ns, o.GetName(), a.Path, err)
			} else {
				spaces[ns] = true
			}
		}
	}
	for _, d := range objects {
		o := d.Unstructured
		switch {
		case d.bound && !ready[o.GroupVersionKind().Group]:
			rs.skip("%s %s in %s: served by a binding that was not restored", o.GetKind(), namespaced(o), a.Path)
			continue
		case d.tenantSpace && !spaces[o.GetNamespace()]:
			rs.skip("%s %s in %s: its tenant space was not made again", o.GetKind(), namespaced(o), a.Path)
			continue
		}
		if err := rs.create(ctx, path, clean(&o)); err != nil {
			return err
		}
	}
	return nil
}

// binding creates the backed-up binding b in the account at path and waits until it serves
// its resources; false, with the binding reported (and deleted if made), when it does not.
// The caller's own rights decide whether it may bind the export again.
func (rs *restorer) binding(ctx context.Context, a Account, path string, b unstructured.Unstructured) (bool, error) {
	o := clean(&b)
	ref, _, _ := unstructured.NestedString(o.Object, "spec", "reference", "export", "path")
	export, _, _ := unstructured.NestedString(o.Object, "spec", "reference", "export", "name")
	inside := ref == ""
	if ref != "" {
		if p, ok := rs.rewritePath(ref); ok {
			_ = unstructured.SetNestedField(o.Object, p, "spec", "reference", "export", "path")
			inside = true
		}
	}
	rs.rewriteClaims(o)
	shown := ref
	if shown == "" {
		shown = a.Path
	}
	d, err := rs.dynamic(path)
	if err != nil {
		return false, err
	}
	bindings := d.Resource(apisv1alpha1.SchemeGroupVersion.WithResource("apibindings"))
	_, err = bindings.Create(ctx, o, metav1.CreateOptions{})
	switch {
	case apierrors.IsAlreadyExists(err):
		rs.count(false)
	case apierrors.IsForbidden(err) || apierrors.IsInvalid(err):
		rs.skip("APIBinding %s in %s: %v", o.GetName(), a.Path, err)
		return false, nil
	case err != nil:
		return false, fmt.Errorf("failed to create APIBinding %s in %s: %w", o.GetName(), path, err)
	default:
		rs.count(true)
	}
	// An export outside the subtree that is gone shows at once; one of the subtree was just
	// restored, and may take its controllers a moment to find.
	var reason, message string
	var notFoundSince time.Time
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, bindTimeout, true, func(ctx context.Context) (bool, error) {
		cur, err := bindings.Get(ctx, o.GetName(), metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		conditions, _, _ := unstructured.NestedSlice(cur.Object, "status", "conditions")
		for _, c := range conditions {
			c, _ := c.(map[string]any)
			switch c["type"] {
			case apisv1alpha1.BindingConditionReady:
				if c["status"] == string(metav1.ConditionTrue) {
					reason = apisv1alpha1.BindingReasonBound
					return true, nil
				}
			case apisv1alpha1.BindingConditionExportValid:
				reason, _ = c["reason"].(string)
				message, _ = c["message"].(string)
			}
		}
		if reason != apisv1alpha1.BindingReasonExportNotFound || inside {
			return false, nil
		}
		if notFoundSince.IsZero() {
			notFoundSince = time.Now()
		}
		return time.Since(notFoundSince) > 3*time.Second, nil
	})
	if err == nil && reason == apisv1alpha1.BindingReasonBound {
		return true, nil
	}
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if message == "" {
		message = fmt.Sprintf("it did not serve the resources of APIExport %s of %s within %s", export, shown, bindTimeout)
	}
	rs.skip("APIBinding %s in %s: %s", o.GetName(), a.Path, message)
	if err := bindings.Delete(ctx, o.GetName(), metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return false, fmt.Errorf("failed to delete APIBinding %s in %s that could not bind: %w", o.GetName(), path, err)
	}
	return false, nil
}

// waitTenantSpace waits until the binding named binding in the account at path has its
// tenant space ns again, made by the platform.
func (rs *restorer) waitTenantSpace(ctx context.Context, path, ns, binding string) error {
	d, err := rs.dynamic(path)
	if err != nil {
		return err
	}
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, bindTimeout, true, func(ctx context.Context) (bool, error) {
		o, err := d.Resource(corev1.SchemeGroupVersion.WithResource("namespaces")).Get(ctx, ns, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		return o.GetLabels()[apisv1alpha1.TenantSpaceLabel] == binding && o.GetDeletionTimestamp() == nil, nil
	})
	if err != nil {
		return fmt.Errorf("the platform did not make it again within %s", bindTimeout)
	}
	return nil
}

// namespaced names o as namespace/name, or name.
func namespaced(o unstructured.Unstructured) string {
	if o.GetNamespace() == "" {
		return o.GetName()
	}
	return o.GetNamespace() + "/" + o.GetName()
}

// rank orders objects for creation.
func rank(o unstructured.Unstructured) int {
	if i := slices.Index(order, o.GetKind()); i >= 0 {
		return i
	}
	if strings.Contains(o.GroupVersionKind().Group, ".") && !strings.HasSuffix(o.GroupVersionKind().Group, ".k8s.io") &&
		!strings.HasSuffix(o.GroupVersionKind().Group, ".accountmesh.io") {
		return len(order) + 1
	}
	return len(order)
}

// clean drops what the server sets from a backed-up object.
func clean(o *unstructured.Unstructured) *unstructured.Unstructured {
	o = o.DeepCopy()
	for _, f := range []string{"uid", "resourceVersion", "creationTimestamp", "managedFields", "generation",
		"selfLink", "deletionTimestamp", "deletionGracePeriodSeconds", "ownerReferences"} {
		unstructured.RemoveNestedField(o.Object, "metadata", f)
	}
	annotations := o.GetAnnotations()
	delete(annotations, corev1alpha1.ClusterAnnotation)
	if len(annotations) == 0 {
		annotations = nil
	}
	o.SetAnnotations(annotations)
	unstructured.RemoveNestedField(o.Object, "status")
	return o
}

// create creates o in the account at path, waiting for a CRD to be established, and reports
// whether it created it (false: the account had it already).
func (w *writer) create(ctx context.Context, path string, o *unstructured.Unstructured) (bool, error) {
	gvk := o.GroupVersionKind()
	mapper, err := w.mapper(path)
	if err != nil {
		return false, err
	}
	var mapping *meta.RESTMapping
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		mapping, err = mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			// Not served yet, or served since the account's discovery was cached.
			mapper.Reset()
		}
		return err == nil, nil
	})
	if err != nil {
		return false, fmt.Errorf("failed to find the resource of %s in %s: %w", gvk, path, err)
	}
	d, err := w.dynamic(path)
	if err != nil {
		return false, err
	}
	var ri interface {
		Create(context.Context, *unstructured.Unstructured, metav1.CreateOptions, ...string) (*unstructured.Unstructured, error)
	} = d.Resource(mapping.Resource)
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		ri = d.Resource(mapping.Resource).Namespace(o.GetNamespace())
	}
	_, err = ri.Create(ctx, o, metav1.CreateOptions{})
	switch {
	case apierrors.IsAlreadyExists(err):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("failed to create %s %s in %s: %w", gvk.Kind, o.GetName(), path, err)
	}
	return true, nil
}

// mapper returns the REST mapper of the account at path, which caches its discovery until
// reset.
func (w *writer) mapper(path string) (*restmapper.DeferredDiscoveryRESTMapper, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if m, ok := w.mappers[path]; ok {
		return m, nil
	}
	disc, err := discovery.NewDiscoveryClientForConfig(w.config(path))
	if err != nil {
		return nil, fmt.Errorf("failed to create a discovery client for %s: %w", path, err)
	}
	if w.mappers == nil {
		w.mappers = map[string]*restmapper.DeferredDiscoveryRESTMapper{}
	}
	m := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc))
	w.mappers[path] = m
	return m, nil
}

// waitReady waits until the account at path is Ready.
func (w *writer) waitReady(ctx context.Context, path string) error {
	parent, name, ok := cutLast(path)
	if !ok {
		return nil
	}
	d, err := w.dynamic(parent)
	if err != nil {
		return err
	}
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		a, err := d.Resource(corev1alpha1.SchemeGroupVersion.WithResource("accounts")).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		phase, _, _ := unstructured.NestedString(a.Object, "status", "phase")
		return phase == "Ready", nil
	})
	if err != nil {
		return fmt.Errorf("account %s did not become Ready: %w", path, err)
	}
	return nil
}

// Read reads an archive: its manifest (which must come first and be of this format version)
// and the objects of each file.
func Read(r io.Reader) (*Manifest, map[string][]unstructured.Unstructured, error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to read the archive: %w", err)
	}
	tr := tar.NewReader(gz)
	var m *Manifest
	files := map[string][]unstructured.Unstructured{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("failed to read the archive: %w", err)
		}
		if m == nil {
			if h.Name != ManifestFile {
				return nil, nil, fmt.Errorf("not a backup: the archive does not start with %s", ManifestFile)
			}
			m = &Manifest{}
			if err := json.NewDecoder(tr).Decode(m); err != nil {
				return nil, nil, fmt.Errorf("failed to read %s: %w", ManifestFile, err)
			}
			if m.Kind != Kind || m.FormatVersion != FormatVersion {
				return nil, nil, fmt.Errorf("not a backup this version can read: kind %q, format version %d (want %s, %d)", m.Kind, m.FormatVersion, Kind, FormatVersion)
			}
			continue
		}
		sc := bufio.NewScanner(tr)
		sc.Buffer(nil, 64<<20)
		for sc.Scan() {
			var u unstructured.Unstructured
			if err := json.Unmarshal(sc.Bytes(), &u.Object); err != nil {
				return nil, nil, fmt.Errorf("failed to read %s: %w", h.Name, err)
			}
			files[h.Name] = append(files[h.Name], u)
		}
		if err := sc.Err(); err != nil {
			return nil, nil, fmt.Errorf("failed to read %s: %w", h.Name, err)
		}
	}
	if m == nil {
		return nil, nil, fmt.Errorf("not a backup: the archive is empty")
	}
	return m, files, nil
}
