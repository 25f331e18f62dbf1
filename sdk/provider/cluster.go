package provider

import (
	"context"
	"net/http"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	"sigs.k8s.io/controller-runtime/pkg/recorder"
	"sigs.k8s.io/multicluster-runtime/pkg/multicluster"
)

// scopedCluster is one consumer account as a controller-runtime cluster.Cluster: its cache
// reads the shared informers, its client writes to /clusters/<id> of the view.
type scopedCluster struct {
	name       multicluster.ClusterName
	config     *rest.Config
	httpClient *http.Client
	scheme     *runtime.Scheme
	mapper     meta.RESTMapper
	cache      *scopedCache
	client     client.Client
	apiReader  client.Reader
	// ctx ends when the account is disengaged; it stops the event broadcasters.
	ctx context.Context

	eventsOnce  sync.Once
	broadcaster events.EventBroadcaster
	recordOnce  sync.Once
	recordBcast record.EventBroadcaster
}

var _ cluster.Cluster = &scopedCluster{}

// GetHTTPClient implements cluster.Cluster; one HTTP client serves every account.
func (c *scopedCluster) GetHTTPClient() *http.Client { return c.httpClient }

// GetConfig implements cluster.Cluster: the view's URL of the account.
func (c *scopedCluster) GetConfig() *rest.Config { return rest.CopyConfig(c.config) }

// GetCache implements cluster.Cluster.
func (c *scopedCluster) GetCache() cache.Cache { return c.cache }

// GetScheme implements cluster.Cluster.
func (c *scopedCluster) GetScheme() *runtime.Scheme { return c.scheme }

// GetClient implements cluster.Cluster: reads from the cache, writes to the account.
func (c *scopedCluster) GetClient() client.Client { return c.client }

// GetFieldIndexer implements cluster.Cluster.
func (c *scopedCluster) GetFieldIndexer() client.FieldIndexer { return c.cache }

// GetRESTMapper implements cluster.Cluster.
func (c *scopedCluster) GetRESTMapper() meta.RESTMapper { return c.mapper }

// GetAPIReader implements cluster.Cluster: reads go to the server.
func (c *scopedCluster) GetAPIReader() client.Reader { return c.apiReader }

// Start implements cluster.Cluster. The provider runs the shared informers, so there is
// nothing to start; it waits for ctx.
func (c *scopedCluster) Start(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

// GetEventRecorder implements recorder.Provider. Events are written into the account through
// the view, which needs a claim on events.k8s.io events.
func (c *scopedCluster) GetEventRecorder(name string) recorder.EventRecorder {
	c.eventsOnce.Do(func() {
		cs, err := kubernetes.NewForConfigAndClient(c.config, c.httpClient)
		if err != nil {
			klog.FromContext(c.ctx).Error(err, "Failed to create an events client", "cluster", c.name)
			c.broadcaster = events.NewBroadcaster(nil)
			return
		}
		c.broadcaster = events.NewBroadcaster(&events.EventSinkImpl{Interface: cs.EventsV1()})
		if err := c.broadcaster.StartRecordingToSinkWithContext(c.ctx); err != nil {
			klog.FromContext(c.ctx).Error(err, "Failed to start recording events", "cluster", c.name)
		}
		go func() { <-c.ctx.Done(); c.broadcaster.Shutdown() }()
	})
	return c.broadcaster.NewRecorder(c.scheme, name).(recorder.EventRecorder)
}

// GetEventRecorderFor implements recorder.Provider with the core/v1 events API, which needs a
// claim on core events.
//
// Deprecated: use GetEventRecorder.
func (c *scopedCluster) GetEventRecorderFor(name string) record.EventRecorder {
	c.recordOnce.Do(func() {
		c.recordBcast = record.NewBroadcaster(record.WithContext(c.ctx))
		cs, err := kubernetes.NewForConfigAndClient(c.config, c.httpClient)
		if err != nil {
			klog.FromContext(c.ctx).Error(err, "Failed to create an events client", "cluster", c.name)
			return
		}
		c.recordBcast.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: cs.CoreV1().Events("")})
		go func() { <-c.ctx.Done(); c.recordBcast.Shutdown() }()
	})
	return c.recordBcast.NewRecorder(c.scheme, corev1.EventSource{Component: name})
}
