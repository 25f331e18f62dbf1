package e2e

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// TestHostileStorageMigration attacks the storage version migrator as mallory, who administers
// one account: she may not start migrations unless granted them, as upstream's admin may not,
// nowhere but in accounts she may, and once granted, a migration of a resource that another
// account serves under the same name rewrites her objects only.
func TestHostileStorageMigration(t *testing.T) {
	t.Parallel()
	a := server.NewAccount(t, "root")
	v := server.NewAccount(t, "root")
	mallory := framework.RandomName("mallory-")
	grantRole(t, a, "admin", "--user="+mallory, false)
	m := certActor(t, mallory)
	eventuallyAllowed(t, m, "/clusters/"+a.Path+"/api/v1/namespaces/default/configmaps")

	// Both accounts store things of group in v1, then switch to v2: a migration anywhere would
	// rewrite them.
	group := randomGroup()
	gvr := schema.GroupVersionResource{Group: group, Version: "v1", Resource: "things"}
	createThings(t, a, group)
	createThings(t, v, group)
	switchStorage(t, a, group)
	switchStorage(t, v, group)
	victimBefore := resourceVersions(t, v, gvr)
	ownBefore := resourceVersions(t, a, gvr)

	migrations := func(acc string) string {
		return "/clusters/" + acc + "/apis/storagemigration.k8s.io/v1/storageversionmigrations"
	}
	body := `{"apiVersion":"storagemigration.k8s.io/v1","kind":"StorageVersionMigration","metadata":{"name":"grab"},"spec":{"resource":{"group":"` + group + `","resource":"things"}}}`
	hostileTable(t, []attack{
		// R28: an account's admin does not hold migrations, as upstream's admin does not.
		{name: "admin starts a migration", as: m, method: http.MethodPost, path: migrations(a.Path), body: body, want: 403},
		// R2, R28: nor in an account she cannot reach, which reads as one that does not exist.
		{name: "migration in another account", as: m, method: http.MethodPost, path: migrations(v.Path), body: body, want: 403,
			absent: migrations("root:" + framework.RandomName("absent-")), presentName: v.Path, absentName: "absent"},
		{name: "migrations of another account", as: m, path: migrations(v.Path), want: 403},
	}, []*framework.Account{a, v}, []string{v.ClusterID})
	require.Empty(t, framework.Kubectl(t, v.Kubeconfig, "get", "storageversionmigrations", "-o", "name"))

	// R28: granted migrations in her account, she rewrites her objects and none of the victim's,
	// which has the same resource.
	framework.Kubectl(t, a.Kubeconfig, "create", "clusterrole", "migrator", "--verb=create,get,list,watch",
		"--resource=storageversionmigrations.storagemigration.k8s.io")
	grantRole(t, a, "migrator", "--user="+mallory, false)
	migrateUntilRewritten(t, a, gvr, ownBefore, func(name string) {
		eventuallyAllowed(t, m, migrations(a.Path))
		code, out := m.do(t, http.MethodPost, migrations(a.Path), nil,
			`{"apiVersion":"storagemigration.k8s.io/v1","kind":"StorageVersionMigration","metadata":{"name":"`+name+`"},"spec":{"resource":{"group":"`+group+`","resource":"things"}}}`)
		require.Equal(t, http.StatusCreated, code, out)
	})
	require.Equal(t, victimBefore, resourceVersions(t, v, gvr), "a migration in one account rewrote another's objects")
}
