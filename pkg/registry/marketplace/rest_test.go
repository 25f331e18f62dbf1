package marketplace

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/apiserver/pkg/authentication/user"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/utils/ptr"

	apisv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/apis/v1alpha1"
	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	marketplacev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/marketplace/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/authorization"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// world is a marketplace over a real account index and the real authorizer, fed the way the
// server's informers feed them.
type world struct {
	index    *cluster.Index
	policy   *authorization.Policy
	mu       sync.Mutex
	exports  []*apisv1alpha1.APIExport
	bindings map[cluster.ID][]*apisv1alpha1.APIBinding
	deps     *Deps
}

func newWorld() *world {
	w := &world{index: cluster.NewIndex("root0000000000"), bindings: map[cluster.ID][]*apisv1alpha1.APIBinding{}}
	w.policy = authorization.NewPolicy(w.index)
	w.deps = &Deps{
		Index:      w.index,
		Authorizer: authorization.NewAuthorizer(w.policy, nil),
		Exports: func() []*apisv1alpha1.APIExport {
			w.mu.Lock()
			defer w.mu.Unlock()
			return append([]*apisv1alpha1.APIExport(nil), w.exports...)
		},
		Bindings: func(id cluster.ID) []*apisv1alpha1.APIBinding {
			w.mu.Lock()
			defer w.mu.Unlock()
			return w.bindings[id]
		},
		DisplayName: func(id cluster.ID) string { return "Account " + string(id) },
		Changes:     NewNotifier(),
	}
	return w
}

// account adds an account below parent.
func (w *world) account(parent cluster.ID, name string) cluster.ID {
	id := cluster.ID(fmt.Sprintf("%s-%s", parent, name))
	w.index.Set(parent, name, id, cluster.Attributes{})
	return id
}

// export publishes a ready export in account id, in a category.
func (w *world) export(id cluster.ID, name, category string) {
	e := &apisv1alpha1.APIExport{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{corev1alpha1.ClusterAnnotation: string(id)}},
		Spec: apisv1alpha1.APIExportSpec{
			Resources: []apisv1alpha1.ExportedResource{{Group: "db.example.com", Name: "databases", Schema: "v1.databases.db.example.com"}},
			Catalog: &apisv1alpha1.Catalog{DisplayName: "Databases", Categories: []string{category},
				Plans: []apisv1alpha1.Plan{{Name: "basic", Default: true}}},
		},
		Status: apisv1alpha1.APIExportStatus{Conditions: []metav1.Condition{{Type: apisv1alpha1.ExportConditionReady, Status: metav1.ConditionTrue, Reason: "Ready"}}},
	}
	w.mu.Lock()
	w.exports = append(w.exports, e)
	w.mu.Unlock()
	w.deps.Changes.Changed()
}

// grant lets group bind every export of account id (the binding is named after the group);
// revoke takes it back.
func (w *world) grant(id cluster.ID, group string, revoke bool) {
	ann := map[string]string{corev1alpha1.ClusterAnnotation: string(id)}
	h := w.policy.Handlers()
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "binder", Annotations: ann},
		Rules: []rbacv1.PolicyRule{{Verbs: []string{"bind"}, APIGroups: []string{apisv1alpha1.GroupName}, Resources: []string{"apiexports"}}}}
	crb := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "bind-" + group, Annotations: ann},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "binder"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: group}}}
	if revoke {
		h["clusterrolebindings"].OnDelete(crb)
	} else {
		h["clusterroles"].OnAdd(role, false)
		h["clusterrolebindings"].OnAdd(crb, false)
	}
	w.deps.Changes.Changed()
}

// bind adds a binding of export name of provider to account id.
func (w *world) bind(id, provider cluster.ID, name, binding string) {
	b := &apisv1alpha1.APIBinding{ObjectMeta: metav1.ObjectMeta{Name: binding},
		Spec:   apisv1alpha1.APIBindingSpec{Reference: apisv1alpha1.BindingReference{Export: &apisv1alpha1.ExportReference{Path: string(provider), Name: name}}},
		Status: apisv1alpha1.APIBindingStatus{Phase: apisv1alpha1.BindingPhaseBound, ExportClusterID: string(provider), Plan: "basic"}}
	w.mu.Lock()
	w.bindings[id] = append(w.bindings[id], b)
	w.mu.Unlock()
	w.deps.Changes.Changed()
}

// as is a request context in account id for user name.
func as(ctx context.Context, id cluster.ID, name string) context.Context {
	return genericapirequest.WithUser(cluster.WithCluster(ctx, id), &user.DefaultInfo{Name: name, Groups: []string{user.AllAuthenticated}})
}

func names(t *testing.T, obj interface{}) []string {
	t.Helper()
	var out []string
	for _, e := range obj.(*marketplacev1alpha1.MarketplaceEntryList).Items {
		out = append(out, e.Spec.Provider.Path+"/"+e.Spec.Export)
	}
	return out
}

// orgWorld is root with providers pub (open to all), sub (open to org's subtree) and priv
// (closed), and the organisation org with team t, and an outsider account.
func orgWorld() (w *world, pub, sub, priv, org, team, out cluster.ID) {
	w = newWorld()
	root := w.index.Root()
	pub, sub, priv = w.account(root, "pub"), w.account(root, "sub"), w.account(root, "priv")
	org = w.account(root, "org")
	team, out = w.account(org, "team"), w.account(root, "out")
	for _, p := range []cluster.ID{pub, sub, priv} {
		w.export(p, "db", "data")
	}
	w.grant(pub, user.AllAuthenticated, false)
	w.grant(sub, "accountmesh:subtree:root:org", false)
	return w, pub, sub, priv, org, team, out
}

func TestListIsTheBindRule(t *testing.T) {
	t.Parallel()
	w, _, _, _, org, team, out := orgWorld()
	r := &REST{deps: w.deps}
	for _, tc := range []struct {
		account cluster.ID
		want    []string
	}{
		{org, []string{"root:pub/db", "root:sub/db"}},
		{team, []string{"root:pub/db", "root:sub/db"}},
		{out, []string{"root:pub/db"}},
	} {
		list, err := r.List(as(t.Context(), tc.account, "alice"), &metainternalversion.ListOptions{})
		require.NoError(t, err)
		require.ElementsMatch(t, tc.want, names(t, list), "account %s", tc.account)
	}
	list, err := r.List(as(t.Context(), team, "alice"), &metainternalversion.ListOptions{LabelSelector: labels.SelectorFromSet(labels.Set{"category.accountmesh.io/data": "true"})})
	require.NoError(t, err)
	require.Len(t, names(t, list), 2)
	list, err = r.List(as(t.Context(), team, "alice"), &metainternalversion.ListOptions{LabelSelector: labels.SelectorFromSet(labels.Set{"category.accountmesh.io/other": "true"})})
	require.NoError(t, err)
	require.Empty(t, names(t, list))
	_, err = r.List(as(t.Context(), cluster.Wildcard, "alice"), &metainternalversion.ListOptions{})
	require.True(t, apierrors.IsMethodNotSupported(err), "%v", err)
}

func TestGetAbsentAndHiddenAlike(t *testing.T) {
	t.Parallel()
	w, pub, _, priv, _, team, _ := orgWorld()
	r := &REST{deps: w.deps}
	ctx := as(t.Context(), team, "alice")
	e, err := r.Get(ctx, EntryName(pub, "db"), nil)
	require.NoError(t, err)
	require.Equal(t, "Account "+string(pub), e.(*marketplacev1alpha1.MarketplaceEntry).Spec.Provider.DisplayName)
	_, hidden := r.Get(ctx, EntryName(priv, "db"), nil)
	_, never := r.Get(ctx, "db-0000000000", nil)
	require.True(t, apierrors.IsNotFound(hidden))
	require.Equal(t, apierrors.NewNotFound(resource, EntryName(priv, "db")).Error(), hidden.Error())
	require.Equal(t, apierrors.NewNotFound(resource, "db-0000000000").Error(), never.Error())
}

func TestEntryName(t *testing.T) {
	t.Parallel()
	require.Equal(t, EntryName("a", "db"), EntryName("a", "db"), "stable")
	require.NotEqual(t, EntryName("a", "db"), EntryName("b", "db"))
	long := EntryName("a", fmt.Sprintf("%0250d", 0))
	require.Len(t, long, maxNameLength)
	require.Regexp(t, `^db-[0-9a-f]{10}$`, EntryName("a", "db"))
}

// next returns the next event of w, failing after a while.
func next(t *testing.T, w watch.Interface) watch.Event {
	t.Helper()
	select {
	case ev, ok := <-w.ResultChan():
		require.True(t, ok, "the watch ended")
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event")
	}
	return watch.Event{}
}

func TestWatchFollowsGrantsAndBindings(t *testing.T) {
	t.Parallel()
	w, pub, _, priv, _, team, _ := orgWorld()
	r := &REST{deps: w.deps}
	ctx := as(t.Context(), team, "alice")
	list, err := r.List(ctx, &metainternalversion.ListOptions{})
	require.NoError(t, err)
	rv := list.(*marketplacev1alpha1.MarketplaceEntryList).ResourceVersion
	wt, err := r.Watch(ctx, &metainternalversion.ListOptions{ResourceVersion: rv})
	require.NoError(t, err)
	defer wt.Stop()

	w.grant(priv, "accountmesh:account:root:org:team", false)
	ev := next(t, wt)
	require.Equal(t, watch.Added, ev.Type)
	require.Equal(t, EntryName(priv, "db"), ev.Object.(*marketplacev1alpha1.MarketplaceEntry).Name)
	w.bind(team, pub, "db", "mine")
	ev = next(t, wt)
	require.Equal(t, watch.Modified, ev.Type)
	require.Equal(t, []marketplacev1alpha1.Binding{{Name: "mine", Phase: apisv1alpha1.BindingPhaseBound, Plan: "basic"}},
		ev.Object.(*marketplacev1alpha1.MarketplaceEntry).Status.Bindings)
	w.grant(priv, "accountmesh:account:root:org:team", true)
	ev = next(t, wt)
	require.Equal(t, watch.Deleted, ev.Type)
	require.Equal(t, EntryName(priv, "db"), ev.Object.(*marketplacev1alpha1.MarketplaceEntry).Name)
}

func TestWatchInitialEvents(t *testing.T) {
	t.Parallel()
	w, _, _, _, _, team, _ := orgWorld()
	r := &REST{deps: w.deps}
	ctx := as(t.Context(), team, "alice")
	for _, tc := range []struct {
		name     string
		opts     metainternalversion.ListOptions
		bookmark bool
	}{
		{name: "no resourceVersion", opts: metainternalversion.ListOptions{}},
		{name: "sendInitialEvents without bookmarks", opts: metainternalversion.ListOptions{SendInitialEvents: ptr.To(true)}},
		{name: "watch list", opts: metainternalversion.ListOptions{SendInitialEvents: ptr.To(true), AllowWatchBookmarks: true}, bookmark: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wt, err := r.Watch(ctx, &tc.opts)
			require.NoError(t, err)
			defer wt.Stop()
			require.Equal(t, watch.Added, next(t, wt).Type)
			require.Equal(t, watch.Added, next(t, wt).Type)
			if tc.bookmark {
				ev := next(t, wt)
				require.Equal(t, watch.Bookmark, ev.Type)
				require.Equal(t, "true", ev.Object.(*marketplacev1alpha1.MarketplaceEntry).Annotations[metav1.InitialEventsAnnotationKey])
				return
			}
			select {
			case ev := <-wt.ResultChan():
				t.Fatalf("unexpected %s", ev.Type)
			case <-time.After(200 * time.Millisecond):
			}
		})
	}
}

// BenchmarkList measures a list of the marketplace: 1,000 exports from 100 providers over a
// tree of accounts (10 organisations of teams, 100 providers); a third of the exports open to
// everyone, a third to one organisation's subtree, a third closed. The caller is a user of a
// team; what a list costs grows with the exports, not with the accounts.
func BenchmarkList(b *testing.B) {
	for _, accounts := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("accounts=%d", accounts), func(b *testing.B) {
			w := newWorld()
			root := w.index.Root()
			var orgs []cluster.ID
			for i := 0; i < 10; i++ {
				orgs = append(orgs, w.account(root, fmt.Sprintf("org%d", i)))
			}
			var teams []cluster.ID
			for i := 0; len(teams)+110 < accounts; i++ {
				teams = append(teams, w.account(orgs[i%10], fmt.Sprintf("team%d", i)))
			}
			for p := 0; p < 100; p++ {
				prov := w.account(root, fmt.Sprintf("prov%d", p))
				for e := 0; e < 10; e++ {
					w.export(prov, fmt.Sprintf("svc%d", e), "data")
				}
				switch p % 3 {
				case 0:
					w.grant(prov, user.AllAuthenticated, false)
				case 1:
					w.grant(prov, fmt.Sprintf("accountmesh:subtree:root:org%d", p%10), false)
				}
			}
			r := &REST{deps: w.deps}
			ctx := as(context.Background(), teams[len(teams)-1], "alice")
			list, err := r.List(ctx, &metainternalversion.ListOptions{})
			require.NoError(b, err)
			b.ReportMetric(float64(len(list.(*marketplacev1alpha1.MarketplaceEntryList).Items)), "entries")
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := r.List(ctx, &metainternalversion.ListOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
