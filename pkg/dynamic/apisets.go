package dynamic

import (
	"context"
	"net/http"
	"sync"

	"k8s.io/utils/lru"

	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// maxAPISets is the default bound of an APISetCache.
const maxAPISets = 1024

// APISetSource says which API set an account serves and with which CRDs; the Index is one.
type APISetSource interface {
	// APISet returns the account's API set key, "" without custom resources, and the served
	// CRDs that make it, read together: a document built from the entries belongs to the key.
	APISet(id cluster.ID) (key string, entries []*Entry)
}

// APISetCache holds what is built once per API set, such as discovery and OpenAPI documents,
// and shared by every account serving that set. It keeps the Max most recently used sets
// (maxAPISets when Max is 0); concurrent first requests for a set wait for one build.
type APISetCache[T any] struct {
	// Max bounds the number of sets kept; set it before first use.
	Max int

	init sync.Once
	mu   sync.Mutex
	sets *lru.Cache
}

// apiSetBuild is one set's build, shared by the requests that wait for it.
type apiSetBuild[T any] struct {
	once sync.Once
	v    T
	err  error
}

// ForRequest returns the value for the API set of the request's account, building it from the
// account's CRDs on first use. ok is false for requests outside an account and for accounts
// without custom resources: they get the built-in documents. A failed build is not kept.
func (c *APISetCache[T]) ForRequest(req *http.Request, src APISetSource, build func(context.Context, []*Entry) (T, error)) (v T, ok bool, err error) {
	id, found := cluster.FromContext(req.Context())
	if !found {
		return v, false, nil
	}
	key, entries := src.APISet(id)
	if key == "" {
		return v, false, nil
	}
	c.init.Do(func() {
		size := c.Max
		if size <= 0 {
			size = maxAPISets
		}
		c.sets = lru.New(size)
	})
	c.mu.Lock()
	var b *apiSetBuild[T]
	if cached, found := c.sets.Get(key); found {
		b = cached.(*apiSetBuild[T])
	} else {
		b = &apiSetBuild[T]{}
		c.sets.Add(key, b)
	}
	c.mu.Unlock()
	// The build is shared: the first request's cancellation must not fail the others.
	b.once.Do(func() { b.v, b.err = build(context.WithoutCancel(req.Context()), entries) })
	if b.err != nil {
		c.mu.Lock()
		if cached, found := c.sets.Get(key); found && cached == b {
			c.sets.Remove(key)
		}
		c.mu.Unlock()
		return v, false, b.err
	}
	return b.v, true, nil
}
