package coordination

import (
	"testing"

	"github.com/stretchr/testify/require"
	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/accountmesh/accountmesh/pkg/registry/store"
	"github.com/accountmesh/accountmesh/pkg/registry/store/storetest"
	"github.com/accountmesh/accountmesh/pkg/scheme"
)

func TestNewStorage(t *testing.T) {
	t.Parallel()
	getter := storetest.Getter()
	storages, err := NewStorage(scheme.Scheme, getter)
	require.NoError(t, err)
	require.Len(t, storages, 1)
	leases := storages["leases"].(*store.REST)
	require.False(t, leases.UpdateStrategy.AllowCreateOnUpdate(t.Context()))
}

func TestValidateLeaseSpec(t *testing.T) {
	t.Parallel()
	strategy := func(s string) *coordinationv1.CoordinatedLeaseStrategy {
		return new(coordinationv1.CoordinatedLeaseStrategy(s))
	}
	tests := []struct {
		name string
		spec coordinationv1.LeaseSpec
		want []string
	}{
		{name: "empty"},
		{name: "held", spec: coordinationv1.LeaseSpec{
			HolderIdentity: new("node-a"), LeaseDurationSeconds: new(int32(40)), LeaseTransitions: new(int32(0)),
		}},
		{name: "zero duration", spec: coordinationv1.LeaseSpec{LeaseDurationSeconds: new(int32(0))},
			want: []string{"spec.leaseDurationSeconds"}},
		{name: "negative transitions", spec: coordinationv1.LeaseSpec{LeaseTransitions: new(int32(-1))},
			want: []string{"spec.leaseTransitions"}},
		{name: "known strategy with preferred holder", spec: coordinationv1.LeaseSpec{
			Strategy: strategy(string(coordinationv1.OldestEmulationVersion)), PreferredHolder: new("node-a"),
		}},
		{name: "custom strategy", spec: coordinationv1.LeaseSpec{Strategy: strategy("example.com/newest")}},
		{name: "unknown strategy", spec: coordinationv1.LeaseSpec{Strategy: strategy("Newest")}, want: []string{"spec.strategy"}},
		{name: "invalid custom strategy", spec: coordinationv1.LeaseSpec{Strategy: strategy("example.com/not valid")},
			want: []string{"spec.strategy"}},
		{name: "preferred holder without strategy", spec: coordinationv1.LeaseSpec{PreferredHolder: new("node-a")},
			want: []string{"spec.preferredHolder"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.ElementsMatch(t, tc.want, storetest.ErrorFields(validateLeaseSpec(&tc.spec)))
		})
	}
}

func TestLeaseColumns(t *testing.T) {
	t.Parallel()
	o := leaseOptions()
	convertor := store.NewTableConvertor(o.Resource, o.Columns...)
	tests := []struct {
		name   string
		holder *string
		want   string
	}{
		{name: "held", holder: new("node-a"), want: "node-a"},
		{name: "free", want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			lease := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "l"}, Spec: coordinationv1.LeaseSpec{HolderIdentity: tc.holder}}
			table, err := convertor.ConvertToTable(t.Context(), lease, nil)
			require.NoError(t, err)
			require.Equal(t, []interface{}{"l", tc.want, "<unknown>"}, table.Rows[0].Cells)
		})
	}
}
