package controller

import (
	"k8s.io/client-go/tools/cache"

	"github.com/accountmesh/accountmesh/pkg/client"
)

// AddClusterKey queues the cluster key (client.ClusterKey) of obj, an object or tombstone of an
// informer over the wildcard; an object without one is not queued.
func AddClusterKey(q *Queue[string], obj any) {
	if key, err := client.ClusterKey(obj); err == nil {
		q.Add(key)
	}
}

// ClusterKeyHandler queues the cluster key of every object an informer over the wildcard adds
// or updates and, with deletes, of every object it deletes.
func ClusterKeyHandler(q *Queue[string], deletes bool) cache.ResourceEventHandlerFuncs {
	h := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { AddClusterKey(q, obj) },
		UpdateFunc: func(_, obj any) { AddClusterKey(q, obj) },
	}
	if deletes {
		h.DeleteFunc = func(obj any) { AddClusterKey(q, obj) }
	}
	return h
}
