package validatingpolicy

import (
	"testing"

	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	apisv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/apis/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// fakeBound says which account serves which resource from which export.
type fakeBound map[cluster.ID]map[schema.GroupResource]ExportRef

func (f fakeBound) BoundFrom(id cluster.ID, gr schema.GroupResource) (ExportRef, bool) {
	ref, ok := f[id][gr]
	return ref, ok
}

func (f fakeBound) Exports(id cluster.ID) []ExportRef {
	var out []ExportRef
	for _, ref := range f[id] {
		out = append(out, ref)
	}
	return out
}

func testExport(id cluster.ID, name string, bindings ...string) *apisv1alpha1.APIExport {
	e := &apisv1alpha1.APIExport{ObjectMeta: objectMeta(id, name, nil)}
	for _, b := range bindings {
		e.Spec.AdmissionPolicies = append(e.Spec.AdmissionPolicies, apisv1alpha1.ExportAdmissionPolicy{BindingName: b})
	}
	return e
}

// TestIndexExportPolicies: the bindings an export names apply in the accounts that bind it, to
// the export's resources only, and are listed there with the export.
func TestIndexExportPolicies(t *testing.T) {
	t.Parallel()
	widgets := schema.GroupResource{Group: "example.com", Resource: "widgets"}
	ref := ExportRef{Account: "provider", Name: "widgets"}
	x := NewIndex(testTree, nil)
	x.SetBound(fakeBound{"team": {widgets: ref}})
	ph, bh, eh := x.PolicyHandler(), x.BindingHandler(), x.ExportHandler()
	ph.OnAdd(testPolicy("provider", "p"), true)
	bh.OnAdd(testBinding("provider", "named", "p", false), true)
	bh.OnAdd(testBinding("provider", "other", "p", false), true)
	require.Empty(t, x.ExportHooksFor("team", widgets), "no export names a binding yet")

	eh.OnAdd(testExport("provider", "widgets", "named", "missing"), true)
	hooks := x.ExportHooksFor("team", widgets)
	require.Len(t, hooks, 1)
	require.Equal(t, []*admissionregistrationv1.ValidatingAdmissionPolicyBinding{testBinding("provider", "named", "p", false)}, hooks[0].Bindings,
		"only the named binding; one that does not exist does nothing")
	require.Empty(t, x.ExportHooksFor("team", schema.GroupResource{Resource: "configmaps"}), "nothing but the export's resources")
	require.Empty(t, x.ExportHooksFor("sibling", widgets), "nowhere the export is not bound")
	require.Empty(t, x.Hooks("team"), "not among the account's own or inherited hooks")

	effective := x.Effective("team")
	require.Len(t, effective, 1)
	require.Equal(t, Effective{Account: "provider", Export: "widgets", Binding: testBinding("provider", "named", "p", false), Policy: testPolicy("provider", "p")}, effective[0])

	eh.OnUpdate(nil, testExport("provider", "widgets"))
	require.Empty(t, x.ExportHooksFor("team", widgets), "dropped from the export, it stops applying")
	require.Empty(t, x.Effective("team"))
}
