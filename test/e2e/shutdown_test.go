package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// TestGracefulShutdown sends SIGTERM to a server with open watches (on a built-in and a
// custom resource) and checks the order of what follows: /readyz fails while the listener
// still answers, and requests are still served then; every watch ends with a clean end of its
// stream (no reset connection), so that a client resumes elsewhere; the process exits with
// status 0 and logs no error or warning on its way out (before the fix the HTTP server timed
// out on the open watches and the watch caches of custom resources kept dialling the stopped
// etcd).
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, err := framework.StartServer(ctx, t.TempDir(), "--shutdown-delay-duration=5s")
	require.NoError(t, err)
	t.Cleanup(s.Stop)
	acc := s.CreateAccount(t, "root", "shutdown")
	group := randomGroup()
	applyWidgetCRD(t, acc, group, "")
	framework.KubectlStdin(t, acc.Kubeconfig, widgetYAML(group, "w", 1), "apply", "-f", "-")

	httpClient, err := rest.HTTPClientFor(acc.Config)
	require.NoError(t, err)
	watches := map[string]string{
		"configmaps": acc.Config.Host + "/api/v1/namespaces/default/configmaps?watch=true",
		"widgets":    acc.Config.Host + "/apis/" + group + "/v1/namespaces/default/widgets?watch=true",
	}
	type ended struct {
		name   string
		events int
		err    error
	}
	started := make(chan string, len(watches))
	results := make(chan ended, len(watches))
	for name, url := range watches {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		require.NoError(t, err)
		resp, err := httpClient.Do(req)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, "watch %s", name)
		go func() {
			defer func() { _ = resp.Body.Close() }()
			d := json.NewDecoder(resp.Body)
			events := 0
			for {
				var e metav1.WatchEvent
				if err := d.Decode(&e); err != nil {
					results <- ended{name: name, events: events, err: err}
					return
				}
				if events++; events == 1 {
					started <- name
				}
			}
		}()
	}
	// Each watch has sent its initial event (an existing object): it is established.
	for range watches {
		select {
		case <-started:
		case r := <-results:
			t.Fatalf("watch %s ended before the shutdown: %v", r.name, r.err)
		}
	}
	logBefore, err := s.Log()
	require.NoError(t, err)

	require.NoError(t, s.Signal(syscall.SIGTERM))
	readyz := s.BaseURL + "/readyz"
	framework.Eventually(t, time.Minute, func(ctx context.Context) (bool, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, readyz, nil)
		if err != nil {
			return false, err
		}
		resp, err := httpClient.Do(req)
		if err != nil {
			return false, errors.New("the listener closed before /readyz failed: " + err.Error())
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusInternalServerError && strings.Contains(string(body), "[-]shutdown failed"), nil
	}, "/readyz did not fail after SIGTERM")
	// Not ready, but still serving until the delay is over.
	_, err = acc.Kube.CoreV1().ConfigMaps("default").Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
	require.NoError(t, err, "a request during the shutdown delay failed")

	for range watches {
		r := <-results
		require.ErrorIs(t, r.err, io.EOF, "watch %s did not end cleanly after %d events", r.name, r.events)
	}
	select {
	case <-s.Exited():
	case <-ctx.Done():
		t.Fatal("the server did not exit")
	}
	require.NoError(t, s.ExitErr(), "exit status")

	logAll, err := s.Log()
	require.NoError(t, err)
	for _, line := range strings.Split(strings.TrimPrefix(logAll, logBefore), "\n") {
		// A watch of the server's own in-process informers that shutdown cancels in flight
		// (seen once: the flow-control configuration's) is logged by client-go's reflector;
		// it is the stop, not a fault. Anything else fails.
		if strings.Contains(line, `"Failed to watch"`) && strings.Contains(line, "context canceled") {
			continue
		}
		require.False(t, strings.HasPrefix(line, "E") || strings.HasPrefix(line, "W"),
			"the server logged an error or warning while shutting down:\n%s", line)
	}
}
