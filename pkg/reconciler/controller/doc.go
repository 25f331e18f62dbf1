// Package controller owns the one work loop every controller under pkg/reconciler runs: a typed,
// rate-limited work queue of keys and the workers that drain it. It retries failed keys with
// exponential backoff, requeues keys that ask for it after a delay, recovers panics of a
// reconcile, logs with the contextual logger (key/value pairs, constant messages) and shuts
// down gracefully: once the context is done, workers finish the key in hand and Run returns.
// Its metrics are upstream's workqueue metrics, labelled with the controller's name only.
//
// It knows nothing of what is reconciled: informers, event handlers and the reconcile steps
// belong to each controller's package. It must not import serving packages or any controller.
package controller
