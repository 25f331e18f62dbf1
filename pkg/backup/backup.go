// Package backup writes a subtree of accounts to a portable archive: every stored object of an
// account and its descendants, read through the API at one etcd revision. The archive is a
// gzip-compressed tar holding manifest.json (format version, revision, the accounts) and, per
// account, a JSON stream of its objects (one object per line), as docs/backup.md describes.
package backup

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/registry/rbac"
)

// FormatVersion is the version of the archive's layout and manifest.
const FormatVersion = 1

// ManifestFile is the archive's first entry, so that a reader knows the format before the
// objects.
const ManifestFile = "manifest.json"

// Manifest describes an archive.
type Manifest struct {
	// Kind is always AccountMeshBackup.
	Kind string `json:"kind"`
	// FormatVersion is FormatVersion of the writer.
	FormatVersion int `json:"formatVersion"`
	// Account is the path of the subtree's top account.
	Account string `json:"account"`
	// ResourceVersion is the etcd revision at which every object was read.
	ResourceVersion string `json:"resourceVersion"`
	// Created is when the backup was taken.
	Created metav1.Time `json:"created"`
	// Accounts are the subtree's accounts, parents before children.
	Accounts []Account `json:"accounts"`
	// TopAccount is the top account's Account object in its parent (type, owner,
	// description), when the credentials could read it; nil for root.
	TopAccount map[string]any `json:"topAccount,omitempty"`
}

// Account is one account of the archive.
type Account struct {
	// Path is the account's path when it was backed up.
	Path string `json:"path"`
	// ClusterID is its cluster ID then.
	ClusterID string `json:"clusterID"`
	// File is the archive entry with its objects.
	File string `json:"file"`
	// Objects is how many objects File holds.
	Objects int `json:"objects"`
}

// Kind is the manifest's kind.
const Kind = "AccountMeshBackup"

// skipped are resources that are not an account's own stored objects although they can be
// created: the root's platform configuration every account serves, or ephemeral. Resources that
// cannot be created (computed per request: accountinfos, accessibleaccounts, accessgrants,
// effectivepolicies, effectivewebhooks, marketplaceentries, …) are never backed up. Invites
// are not either: the server records whoever creates one as its inviter and grants with that
// user's rights, so a restore would re-issue every invite, accepted ones too, as the restorer.
var skipped = []schema.GroupResource{
	{Group: "iam.accountmesh.io", Resource: "invites"},
	{Group: "flowcontrol.apiserver.k8s.io", Resource: "flowschemas"},
	{Group: "flowcontrol.apiserver.k8s.io", Resource: "prioritylevelconfigurations"},
	{Resource: "events"},
	{Group: "events.k8s.io", Resource: "events"},
}

// Write backs up the subtree whose top is the account at path through cfg (credentials that
// may read every object of it, e.g. the admin's; cfg.Host may name any account) to out.
func Write(ctx context.Context, cfg *rest.Config, path string, out io.Writer) (*Manifest, error) {
	base := cfg.Host
	if i := strings.Index(base, cluster.URLPrefix); i >= 0 {
		base = base[:i]
	}
	w := &writer{cfg: cfg, base: strings.TrimSuffix(base, "/")}
	gz := gzip.NewWriter(out)
	tw := tar.NewWriter(gz)
	m := &Manifest{Kind: Kind, FormatVersion: FormatVersion, Account: path, Created: metav1.NewTime(time.Now().UTC().Truncate(time.Second))}

	// The revision of everything: that of a consistent read of the top account's AccountInfo
	// list; every list after reads at exactly that revision.
	top, err := w.dynamic(path)
	if err != nil {
		return nil, err
	}
	infos, err := top.Resource(corev1alpha1.SchemeGroupVersion.WithResource("accounts")).List(ctx, metav1.ListOptions{Limit: 1})
	if err != nil {
		return nil, fmt.Errorf("failed to read account %s: %w", path, err)
	}
	w.rv = infos.GetResourceVersion()
	m.ResourceVersion = w.rv
	info, err := top.Resource(corev1alpha1.SchemeGroupVersion.WithResource("accountinfos")).Get(ctx, corev1alpha1.AccountInfoName, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("failed to read account %s: %w", path, err)
	}
	id, _, _ := unstructured.NestedString(info.Object, "spec", "clusterID")
	if parent, name, ok := cutLast(path); ok {
		pd, err := w.dynamic(parent)
		if err != nil {
			return nil, err
		}
		obj, err := pd.Resource(corev1alpha1.SchemeGroupVersion.WithResource("accounts")).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("failed to read the Account %s in %s: %w", name, parent, err)
		}
		m.TopAccount = obj.Object
	}

	// Level by level, the accounts of a level read side by side; the manifest lists them in
	// that order, parents first.
	var files [][]byte
	level := []Account{{Path: path, ClusterID: id}}
	for len(level) > 0 {
		objects := make([][][]byte, len(level))
		children := make([][]Account, len(level))
		index := map[string]int{}
		for i, a := range level {
			index[a.Path] = i
		}
		err := parallel(ctx, level, func(ctx context.Context, a Account) error {
			i := index[a.Path]
			var err error
			objects[i], children[i], err = w.account(ctx, a)
			return err
		})
		if err != nil {
			return nil, err
		}
		var next []Account
		for i, a := range level {
			a.File = "accounts/" + a.Path + ".jsonl"
			a.Objects = len(objects[i])
			files = append(files, bytes.Join(objects[i], nil))
			m.Accounts = append(m.Accounts, a)
			next = append(next, children[i]...)
		}
		level = next
	}
	manifest, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("failed to encode the manifest: %w", err)
	}
	if err := writeEntry(tw, ManifestFile, append(manifest, '\n')); err != nil {
		return nil, err
	}
	for i, a := range m.Accounts {
		if err := writeEntry(tw, a.File, files[i]); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("failed to write the archive: %w", err)
	}
	if err := gz.Close(); err != nil {
		return nil, fmt.Errorf("failed to write the archive: %w", err)
	}
	return m, nil
}

type writer struct {
	cfg  *rest.Config
	base string
	rv   string

	// mu guards mappers, the REST mappers of the accounts a restore writes to.
	mu      sync.Mutex
	mappers map[string]*restmapper.DeferredDiscoveryRESTMapper
}

// config returns cfg for the account at pathOrID.
func (w *writer) config(pathOrID string) *rest.Config {
	c := rest.CopyConfig(w.cfg)
	c.Host = w.base + cluster.URLPrefix + pathOrID
	c.QPS, c.Burst = -1, 0
	return c
}

func (w *writer) dynamic(pathOrID string) (dynamic.Interface, error) {
	d, err := dynamic.NewForConfig(w.config(pathOrID))
	if err != nil {
		return nil, fmt.Errorf("failed to create a client for %s: %w", pathOrID, err)
	}
	return d, nil
}

// account returns the objects of account a, one JSON line each, and its child accounts.
func (w *writer) account(ctx context.Context, a Account) ([][]byte, []Account, error) {
	d, err := w.dynamic(a.ClusterID)
	if err != nil {
		return nil, nil, err
	}
	disc, err := discovery.NewDiscoveryClientForConfig(w.config(a.ClusterID))
	if err != nil {
		return nil, nil, fmt.Errorf("failed to create a discovery client for %s: %w", a.Path, err)
	}
	lists, err := disc.ServerPreferredResources()
	if err != nil {
		return nil, nil, fmt.Errorf("failed to discover the resources of %s: %w", a.Path, err)
	}
	var objects [][]byte
	var children []Account
	for _, list := range lists {
		gv, err := schema.ParseGroupVersion(list.GroupVersion)
		if err != nil {
			return nil, nil, fmt.Errorf("failed to parse group version %q of %s: %w", list.GroupVersion, a.Path, err)
		}
		for _, r := range list.APIResources {
			gr := gv.WithResource(r.Name).GroupResource()
			if strings.Contains(r.Name, "/") || !slices.Contains(r.Verbs, "list") || !slices.Contains(r.Verbs, "create") || slices.Contains(skipped, gr) {
				continue
			}
			items, err := w.list(ctx, d.Resource(gv.WithResource(r.Name)))
			if err != nil {
				return nil, nil, fmt.Errorf("failed to list %s in %s: %w", gr, a.Path, err)
			}
			for _, item := range items {
				if item.GetLabels()[rbac.BuiltinLabel] == "true" {
					continue
				}
				if gr == corev1alpha1.Resource("accounts") {
					id, _, _ := unstructured.NestedString(item.Object, "status", "clusterID")
					if id != "" {
						children = append(children, Account{Path: a.Path + ":" + item.GetName(), ClusterID: id})
					}
				}
				b, err := json.Marshal(item.Object)
				if err != nil {
					return nil, nil, fmt.Errorf("failed to encode %s %s in %s: %w", gr, item.GetName(), a.Path, err)
				}
				objects = append(objects, append(b, '\n'))
			}
		}
	}
	return objects, children, nil
}

// list lists every object of r at the backup's revision, page by page.
func (w *writer) list(ctx context.Context, r dynamic.NamespaceableResourceInterface) ([]unstructured.Unstructured, error) {
	var out []unstructured.Unstructured
	opts := metav1.ListOptions{ResourceVersion: w.rv, ResourceVersionMatch: metav1.ResourceVersionMatchExact, Limit: 500}
	for {
		l, err := r.List(ctx, opts)
		if err != nil {
			if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
				return nil, fmt.Errorf("revision %s was compacted while the backup ran; try again: %w", w.rv, err)
			}
			return nil, err
		}
		for _, item := range l.Items {
			if item.GetAPIVersion() == "" {
				item.SetAPIVersion(l.GetAPIVersion())
			}
			out = append(out, item)
		}
		if l.GetContinue() == "" {
			return out, nil
		}
		opts = metav1.ListOptions{Continue: l.GetContinue(), Limit: 500}
	}
}

func writeEntry(tw *tar.Writer, name string, data []byte) error {
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: int64(len(data)), ModTime: time.Now()}); err != nil {
		return fmt.Errorf("failed to write %s to the archive: %w", name, err)
	}
	if _, err := tw.Write(data); err != nil {
		return fmt.Errorf("failed to write %s to the archive: %w", name, err)
	}
	return nil
}

// cutLast splits a path into its parent's path and its last segment; false for root.
func cutLast(path string) (parent, name string, ok bool) {
	i := strings.LastIndex(path, ":")
	if i < 0 {
		return "", "", false
	}
	return path[:i], path[i+1:], true
}
