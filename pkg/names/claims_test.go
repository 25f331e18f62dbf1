package names

import (
	"testing"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/accountmesh/accountmesh/pkg/cluster"
)

func TestClaims(t *testing.T) {
	t.Parallel()
	gr := schema.GroupResource{Group: "db.example.com", Resource: "databases"}
	crd := Owner{Kind: OwnerCRD, Name: "databases.db.example.com"}
	b1 := Owner{Kind: OwnerBinding, Name: "b1", IdentityHash: "h1"}
	b2 := Owner{Kind: OwnerBinding, Name: "b2", IdentityHash: "h1"}
	other := Owner{Kind: OwnerBinding, Name: "other", IdentityHash: "h2"}

	// step claims (or releases) an owner in an account; the steps of a case run in order on one
	// Claims.
	type step struct {
		account   cluster.ID
		owner     Owner
		release   bool
		wantOK    bool
		wantOwner Owner // checked when set
		why       string
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{name: "bindings of one identity co-own a resource", steps: []step{
			{account: "a", owner: b1, wantOK: true, wantOwner: b1},
			{account: "a", owner: b2, wantOK: true, wantOwner: b1, why: "the first name stays the owner"},
		}},
		{name: "conflicts name the first owner", steps: []step{
			{account: "a", owner: b1, wantOK: true},
			{account: "a", owner: other, wantOK: false, wantOwner: b1, why: "another export's binding conflicts"},
			{account: "a", owner: crd, wantOK: false, wantOwner: b1, why: "a CRD conflicts with bound resources"},
			{account: "a", owner: Owner{Kind: OwnerBinding, Name: "empty"}, wantOK: false, why: "a binding without identity co-owns nothing"},
		}},
		{name: "claims are per account", steps: []step{
			{account: "a", owner: b1, wantOK: true},
			{account: "b", owner: crd, wantOK: true, wantOwner: crd},
		}},
		{name: "a name is free once every owner released it", steps: []step{
			{account: "a", owner: b1, wantOK: true},
			{account: "a", owner: b2, wantOK: true},
			{account: "a", owner: b1, release: true},
			{account: "a", owner: other, wantOK: false, wantOwner: b2, why: "b2 still owns it"},
			{account: "a", owner: other, release: true, why: "not an owner: no effect"},
			{account: "a", owner: b2, release: true},
			{account: "a", owner: crd, wantOK: true, wantOwner: crd},
			{account: "a", owner: crd, wantOK: true, wantOwner: crd, why: "claiming again is idempotent"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			x := NewClaims()
			for i, s := range tc.steps {
				if s.release {
					x.Release(s.account, gr, s.owner)
					continue
				}
				owner, ok := x.Claim(s.account, gr, s.owner)
				require.Equal(t, s.wantOK, ok, "step %d: %s", i, s.why)
				if s.wantOwner != (Owner{}) {
					require.Equal(t, s.wantOwner, owner, "step %d: %s", i, s.why)
					current, found := x.Owner(s.account, gr)
					require.True(t, found)
					require.Equal(t, s.wantOwner, current, "step %d: Owner agrees with Claim", i)
				}
			}
		})
	}
}
