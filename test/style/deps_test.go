package style

import (
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// clientsDoNotServe: kubectl-mesh and what providers import (sdk/) are clients; the server side
// of Kubernetes must not come with them (DESIGN.md, layout).
var clientsDoNotServe = []importRule{
	{From: module + "/cmd/kubectl-mesh", Forbidden: []string{"k8s.io/apiserver"}},
	{From: module + "/sdk", Forbidden: []string{"k8s.io/apiserver"}},
}

// TestClientsDoNotDependOnTheServer checks clientsDoNotServe on everything the non-test
// packages of kubectl-mesh and sdk/ depend on, third-party packages included.
func TestClientsDoNotDependOnTheServer(t *testing.T) {
	t.Parallel()
	graph := goListDeps(t, "./cmd/kubectl-mesh", "./sdk/...")
	require.Contains(t, graph, module+"/cmd/kubectl-mesh", "the dependency graph holds the plugin")
	require.Contains(t, graph, module+"/sdk/provider", "the dependency graph holds the SDK")
	for _, rule := range clientsDoNotServe {
		assert.Empty(t, rule.violations(graph), "%s depends on the server", rule.From)
	}
}

func TestClientsDoNotServeRule(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		graph map[string][]string
		want  []string
	}{
		{name: "clients on client libraries", graph: map[string][]string{
			module + "/cmd/kubectl-mesh":   {module + "/pkg/cli"},
			module + "/pkg/cli":            {module + "/pkg/cluster", "k8s.io/client-go/rest"},
			module + "/sdk/provider":       {module + "/pkg/cluster", "sigs.k8s.io/controller-runtime/pkg/cluster"},
			"k8s.io/client-go/rest":        {"k8s.io/apimachinery/pkg/runtime"},
			module + "/pkg/server":         {"k8s.io/apiserver/pkg/server"},
			module + "/pkg/server/filters": {"k8s.io/apiserver/pkg/endpoints/handlers/responsewriters"},
		}},
		{name: "the plugin through a package of ours", graph: map[string][]string{
			module + "/cmd/kubectl-mesh": {module + "/pkg/cli"},
			module + "/pkg/cli":          {module + "/pkg/cluster"},
			module + "/pkg/cluster":      {"k8s.io/apiserver/pkg/endpoints/handlers/responsewriters"},
		}, want: []string{
			module + "/cmd/kubectl-mesh -> " + module + "/pkg/cli -> " + module + "/pkg/cluster -> k8s.io/apiserver/pkg/endpoints/handlers/responsewriters",
		}},
		{name: "an SDK example through a third-party package", graph: map[string][]string{
			module + "/sdk/examples/database":  {"example.com/lib"},
			"example.com/lib":                  {"k8s.io/apiserver/pkg/authentication/user"},
			module + "/sdk/examples/database2": {"k8s.io/apiserverlike"},
		}, want: []string{
			module + "/sdk/examples/database -> example.com/lib -> k8s.io/apiserver/pkg/authentication/user",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, rule := range clientsDoNotServe {
				got = append(got, rule.violations(tc.graph)...)
			}
			require.Equal(t, tc.want, got)
		})
	}
}

// goListDeps returns the imports of patterns and of every package they depend on, third-party
// and standard packages included, as `go list -deps` reports them (no test files).
func goListDeps(t *testing.T, patterns ...string) map[string][]string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	args := append([]string{"list", "-deps", "-f", `{{.ImportPath}} {{join .Imports " "}}`}, patterns...)
	cmd := exec.CommandContext(t.Context(), "go", args...)
	cmd.Dir = root
	out, err := cmd.Output()
	var stderr []byte
	if exit := (*exec.ExitError)(nil); errors.As(err, &exit) {
		stderr = exit.Stderr
	}
	require.NoError(t, err, "go %s: %s", strings.Join(args, " "), stderr)
	graph := map[string][]string{}
	for line := range strings.Lines(string(out)) {
		if fields := strings.Fields(line); len(fields) > 0 {
			graph[fields[0]] = fields[1:]
		}
	}
	return graph
}
