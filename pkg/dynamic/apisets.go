package dynamic

import (
	"context"
	"net/http"
	"sync"

	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// maxAPISets bounds an APISetCache; the cache starts over when it is full.
const maxAPISets = 1024

// APISetSource says which API set an account serves and with which CRDs; the Index is one.
type APISetSource interface {
	// APISet returns the account's API set key, "" without custom resources.
	APISet(id cluster.ID) string
	// Entries returns the account's served CRDs.
	Entries(id cluster.ID) []*Entry
}

// APISetCache holds what is built once per API set, such as discovery and OpenAPI documents,
// and shared by every account serving that set.
type APISetCache[T any] struct {
	mu  sync.Mutex
	set map[string]T
}

// ForRequest returns the value for the API set of the request's account, building it from the
// account's CRDs on first use. ok is false for requests outside an account and for accounts
// without custom resources: they get the built-in documents.
func (c *APISetCache[T]) ForRequest(req *http.Request, src APISetSource, build func(context.Context, []*Entry) (T, error)) (v T, ok bool, err error) {
	id, found := cluster.FromContext(req.Context())
	if !found {
		return v, false, nil
	}
	key := src.APISet(id)
	if key == "" {
		return v, false, nil
	}
	c.mu.Lock()
	v, found = c.set[key]
	c.mu.Unlock()
	if found {
		return v, true, nil
	}
	if v, err = build(req.Context(), src.Entries(id)); err != nil {
		return v, false, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.set == nil || len(c.set) >= maxAPISets {
		c.set = map[string]T{}
	}
	c.set[key] = v
	return v, true, nil
}
