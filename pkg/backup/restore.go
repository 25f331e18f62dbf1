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
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

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

// notRestored are kinds a restore leaves out: exports carry an identity (restoring their key
// elsewhere would give a second export the first one's storage and views), and bindings
// reconnect through exports.
var notRestored = []string{"APIExport", "APIResourceSchema", "APIBinding"}

// order is the order in which kinds are created in an account; others come after, custom
// resources last.
var order = []string{"CustomResourceDefinition", "AccountType", "Namespace", "ClusterRole", "Role",
	"ClusterRoleBinding", "RoleBinding", "ServiceAccount", "Secret", "ConfigMap"}

// Restore recreates the subtree of the archive read from r as the account name (default: the
// backed-up top account's name) under the account at into, through cfg: new accounts with
// new cluster IDs, then each account's objects without their server-set metadata.
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
	w := &writer{cfg: cfg, base: strings.TrimSuffix(base, "/")}
	res := &Restored{Accounts: map[string]string{}}
	top := &unstructured.Unstructured{Object: map[string]any{}}
	if m.TopAccount != nil {
		top.Object = m.TopAccount
	}
	top.SetAPIVersion(corev1alpha1.SchemeGroupVersion.String())
	top.SetKind("Account")
	top.SetName(name)
	newTop := into + ":" + name
	if err := w.create(ctx, into, clean(top), res); err != nil {
		return nil, err
	}
	res.Accounts[m.Account] = newTop
	for _, a := range m.Accounts {
		path := res.Accounts[a.Path]
		if err := w.waitReady(ctx, path); err != nil {
			return nil, err
		}
		objects := files[a.File]
		// An export's identity key stays with the export: restored, it would let an export
		// of that name here take the original's identity.
		// Bindings are not restored, so neither are the objects of the groups they served
		// (unless a CRD of the account serves the group too).
		identities, bound := map[string]bool{}, map[string]bool{}
		for _, o := range objects {
			switch o.GetKind() {
			case "APIExport":
				identities[o.GetName()+"-identity"] = true
			case "APIBinding":
				resources, _, _ := unstructured.NestedSlice(o.Object, "status", "boundResources")
				for _, r := range resources {
					if group, ok := r.(map[string]any)["group"].(string); ok {
						bound[group] = true
					}
				}
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
			switch {
			case slices.Contains(notRestored, o.GetKind()):
				res.Skipped = append(res.Skipped, fmt.Sprintf("%s %s in %s: exports and bindings are not restored", o.GetKind(), o.GetName(), a.Path))
				continue
			case bound[o.GroupVersionKind().Group]:
				res.Skipped = append(res.Skipped, fmt.Sprintf("%s %s in %s: served by a binding, which is not restored", o.GetKind(), o.GetName(), a.Path))
				continue
			case o.GetKind() == "Secret" && o.GetNamespace() == "default" && identities[o.GetName()]:
				res.Skipped = append(res.Skipped, fmt.Sprintf("Secret default/%s in %s: an export's identity key", o.GetName(), a.Path))
				continue
			case o.GetKind() == "Account" && o.GroupVersionKind().Group == corev1alpha1.GroupName:
				res.Accounts[a.Path+":"+o.GetName()] = path + ":" + o.GetName()
			}
			if err := w.create(ctx, path, clean(&o), res); err != nil {
				return nil, err
			}
		}
	}
	return res, nil
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

// create creates o in the account at path, waiting for a CRD to be established.
func (w *writer) create(ctx context.Context, path string, o *unstructured.Unstructured, res *Restored) error {
	gvk := o.GroupVersionKind()
	var mapping *meta.RESTMapping
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		disc, err := discovery.NewDiscoveryClientForConfig(w.config(path))
		if err != nil {
			return false, err
		}
		mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc))
		mapping, err = mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		return err == nil, nil
	})
	if err != nil {
		return fmt.Errorf("failed to find the resource of %s in %s: %w", gvk, path, err)
	}
	d, err := w.dynamic(path)
	if err != nil {
		return err
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
		res.Existing++
		return nil
	case err != nil:
		return fmt.Errorf("failed to create %s %s in %s: %w", gvk.Kind, o.GetName(), path, err)
	}
	res.Created++
	return nil
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
