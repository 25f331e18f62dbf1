package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

// tableAccept asks for tables of partial object metadata, as kubectl get does.
const tableAccept = "application/json;as=Table;v=v1;g=meta.k8s.io"

// TestWatchListTable streams Secrets as Tables with a watch-list (sendInitialEvents), as
// kubectl get --watch and upstream's streaming test do: the first event carries the column
// definitions, later ones rows only, each row as a GET of that Secret prints it, and the
// bookmark that ends the initial events says so.
func TestWatchListTable(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	acc := server.NewAccount(t, "root")
	names := []string{"s1", "s2", "s3"}
	for _, n := range names {
		_, err := acc.Kube.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: n, Labels: map[string]string{"watchlist": "true"}},
			StringData: map[string]string{"k": "v"},
		}, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	client, err := rest.HTTPClientFor(acc.Config)
	require.NoError(t, err)
	get := func(path string) *http.Response {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, acc.Config.Host+path, nil)
		require.NoError(t, err)
		req.Header.Set("Accept", tableAccept)
		resp, err := client.Do(req)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		return resp
	}
	// cells drops the Age column, which changes between the two reads.
	cells := func(tbl *metav1.Table) []interface{} {
		require.Len(t, tbl.Rows, 1)
		return tbl.Rows[0].Cells[:len(tbl.Rows[0].Cells)-1]
	}

	resp := get("/api/v1/namespaces/default/secrets?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&labelSelector=watchlist%3Dtrue")
	defer func() { _ = resp.Body.Close() }()
	events := bufio.NewScanner(resp.Body)
	events.Buffer(make([]byte, 1<<20), 1<<20)
	for i, n := range names {
		require.True(t, events.Scan(), "event %d: %v", i, events.Err())
		var e struct {
			Type   string
			Object metav1.Table
		}
		require.NoError(t, json.Unmarshal(events.Bytes(), &e))
		require.Equal(t, "ADDED", e.Type)
		if i == 0 {
			require.NotEmpty(t, e.Object.ColumnDefinitions, "the first event defines the columns")
		} else {
			require.Empty(t, e.Object.ColumnDefinitions, "event %d repeats the column definitions", i)
		}
		var single metav1.Table
		r := get("/api/v1/namespaces/default/secrets/" + n)
		require.NoError(t, json.NewDecoder(r.Body).Decode(&single))
		_ = r.Body.Close()
		require.Equal(t, cells(&single), cells(&e.Object), "row of %s", n)
	}
	require.True(t, events.Scan())
	var bookmark struct {
		Type   string
		Object metav1.Table
	}
	require.NoError(t, json.Unmarshal(events.Bytes(), &bookmark))
	require.Equal(t, "BOOKMARK", bookmark.Type)
	require.Len(t, bookmark.Object.Rows, 1)
	var m metav1.PartialObjectMetadata
	require.NoError(t, json.Unmarshal(bookmark.Object.Rows[0].Object.Raw, &m))
	require.Equal(t, "true", m.Annotations[metav1.InitialEventsAnnotationKey], fmt.Sprintf("bookmark %s", events.Text()))
}
