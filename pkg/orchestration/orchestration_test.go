package orchestration

import (
	"testing"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	orchestrationv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/orchestration/v1alpha1"
)

func members(deps map[string][]string, order ...string) []orchestrationv1alpha1.Member {
	out := make([]orchestrationv1alpha1.Member, 0, len(order))
	for _, name := range order {
		out = append(out, orchestrationv1alpha1.Member{Name: name, DependsOn: deps[name]})
	}
	return out
}

func TestCycle(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		deps  map[string][]string
		order []string
		want  []string
	}{
		{"no dependencies", nil, []string{"a", "b"}, nil},
		{"chain", map[string][]string{"a": {"b"}, "b": {"c"}}, []string{"a", "b", "c"}, nil},
		{"diamond", map[string][]string{"a": {"b", "c"}, "b": {"d"}, "c": {"d"}}, []string{"a", "b", "c", "d"}, nil},
		{"two", map[string][]string{"a": {"b"}, "b": {"a"}}, []string{"a", "b"}, []string{"a", "b", "a"}},
		{"three, entered late", map[string][]string{"x": {"b"}, "b": {"c"}, "c": {"d"}, "d": {"b"}}, []string{"x", "b", "c", "d"}, []string{"b", "c", "d", "b"}},
		{"self", map[string][]string{"a": {"a"}}, []string{"a"}, []string{"a", "a"}},
		{"unknown dependency ignored", map[string][]string{"a": {"zz"}}, []string{"a"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, Cycle(members(tc.deps, tc.order...)))
		})
	}
	require.Equal(t, "a -> b -> a", FormatCycle([]string{"a", "b", "a"}))
}

func TestWaitingFor(t *testing.T) {
	t.Parallel()
	m := orchestrationv1alpha1.Member{Name: "app", DependsOn: []string{"db", "queue", "cache"}}
	ready := map[string]bool{"queue": true}
	require.Equal(t, []string{"db", "cache"}, WaitingFor(m, func(n string) bool { return ready[n] }))
}

func TestReadiness(t *testing.T) {
	t.Parallel()
	obj := func(status map[string]any) *unstructured.Unstructured {
		o := map[string]any{"apiVersion": "v1", "kind": "Thing", "spec": map[string]any{"replicas": int64(3)}}
		if status != nil {
			o["status"] = status
		}
		return &unstructured.Unstructured{Object: o}
	}
	cond := func(status, message string) map[string]any {
		return map[string]any{"conditions": []any{
			map[string]any{"type": "Other", "status": "False"},
			map[string]any{"type": "Ready", "status": status, "message": message},
		}}
	}
	for _, tc := range []struct {
		name        string
		expr        string
		obj         *unstructured.Unstructured
		want        bool
		wantMessage string
		wantErr     bool
	}{
		{name: "no status", obj: obj(nil)},
		{name: "Ready True", obj: obj(cond("True", "up")), want: true, wantMessage: "up"},
		{name: "Ready False", obj: obj(cond("False", "down")), wantMessage: "down"},
		{name: "condition wins over phase", obj: obj(map[string]any{"phase": "Active", "conditions": []any{map[string]any{"type": "Ready", "status": "False"}}})},
		{name: "phase Bound", obj: obj(map[string]any{"phase": "Bound"}), want: true},
		{name: "phase Pending", obj: obj(map[string]any{"phase": "Pending"})},
		{name: "expression true", expr: "self.spec.replicas >= 2", obj: obj(cond("False", "down")), want: true, wantMessage: "down"},
		{name: "expression false", expr: "self.spec.replicas >= 5", obj: obj(nil)},
		{name: "expression fails", expr: "self.status.ready", obj: obj(nil), wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, err := CompileReadiness(tc.expr, false)
			require.NoError(t, err)
			got, message, err := r.Evaluate(tc.obj)
			if tc.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
			require.Equal(t, tc.wantMessage, message)
		})
	}
}

func TestCompileReadinessRefuses(t *testing.T) {
	t.Parallel()
	for _, expr := range []string{"self.spec.(", "'a string'", "1 + 2", "undeclared.field == 1"} {
		_, err := CompileReadiness(expr, false)
		require.Error(t, err, expr)
	}
}
