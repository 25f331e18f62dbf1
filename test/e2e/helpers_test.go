package e2e

import (
	"context"
	"encoding/base64"
	"github.com/accountmesh/accountmesh/test/e2e/framework"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

func decodeSecretKey(t *testing.T, b64 string) string {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(b64)
	require.NoError(t, err)
	return string(b)
}

// kubectlTable parses the table kubectl get prints: the header's column names and, per row, the
// cells by column name. Cells are cut at the header's column positions, so empty cells are
// read as "".
func kubectlTable(t *testing.T, out string) ([]string, []map[string]string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	require.NotEmpty(t, lines, "no table in %q", out)
	header := regexp.MustCompile(`\s{2,}`).Split(strings.TrimSpace(lines[0]), -1)
	starts := make([]int, len(header))
	from := 0
	for i, name := range header {
		idx := strings.Index(lines[0][from:], name)
		require.GreaterOrEqual(t, idx, 0, "column %q not in header %q", name, lines[0])
		starts[i] = from + idx
		from = starts[i] + len(name)
	}
	var rows []map[string]string
	for _, line := range lines[1:] {
		row := map[string]string{}
		for i, name := range header {
			start, end := starts[i], len(line)
			if i+1 < len(starts) {
				end = min(starts[i+1], len(line))
			}
			if start < end {
				row[name] = strings.TrimSpace(line[start:end])
			} else {
				row[name] = ""
			}
		}
		rows = append(rows, row)
	}
	return header, rows
}

// startManager runs a controller-runtime manager until the test ends.
func startManager(t *testing.T, mgr manager.Manager) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
}

// requireUnresolvable polls until requests with cfg (an account's URL) answer 404: the path
// index follows the Account objects through a watch, a moment after they go.
func requireUnresolvable(t *testing.T, cfg *rest.Config, what string) {
	t.Helper()
	kube, err := kubernetes.NewForConfig(cfg)
	require.NoError(t, err)
	framework.Eventually(t, 10*time.Second, func(ctx context.Context) (bool, error) {
		_, err := kube.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
		return apierrors.IsNotFound(err), nil
	}, "%s still resolves", what)
}

// roundTripperFunc is an http.RoundTripper of a function, to observe a client's responses.
type roundTripperFunc func(*http.Request) (*http.Response, error)

// RoundTrip implements http.RoundTripper.
func (f roundTripperFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }
