package objectcount

import (
	"context"
	"sync"
	"time"

	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/legacyregistry"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// The bands of accounts' usage of their object limits.
const (
	bandBelowHalf = "below_50_percent"
	bandHalf      = "50_to_80_percent"
	bandHigh      = "80_to_100_percent"
	bandFull      = "at_limit"
)

var (
	storedObjects = metrics.NewGauge(&metrics.GaugeOpts{
		Name:           "accountmesh_stored_objects",
		Help:           "Objects stored in all accounts, as last counted.",
		StabilityLevel: metrics.ALPHA,
	})
	largestAccountObjects = metrics.NewGauge(&metrics.GaugeOpts{
		Name:           "accountmesh_account_objects_max",
		Help:           "Objects stored in the account that stores the most, as last counted.",
		StabilityLevel: metrics.ALPHA,
	})
	accountsByLimitUsage = metrics.NewGaugeVec(&metrics.GaugeOpts{
		Name:           "accountmesh_accounts_by_object_limit_usage",
		Help:           "Accounts with a limit on their objects, by how much of it they use, as last counted.",
		StabilityLevel: metrics.ALPHA,
	}, []string{"usage"})
	limitRejections = metrics.NewCounterVec(&metrics.CounterOpts{
		Name:           "accountmesh_object_limit_rejections_total",
		Help:           "Creations refused because the account had reached its limit on objects, by what set the limit.",
		StabilityLevel: metrics.ALPHA,
	}, []string{"source"})
	countDuration = metrics.NewGauge(&metrics.GaugeOpts{
		Name:           "accountmesh_object_count_duration_seconds",
		Help:           "How long the last count of every account's objects took.",
		StabilityLevel: metrics.ALPHA,
	})
)

var registerMetrics sync.Once

// Register registers the metrics with the process's registry.
func Register() {
	registerMetrics.Do(func() {
		legacyregistry.MustRegister(storedObjects, largestAccountObjects, accountsByLimitUsage, limitRejections, countDuration)
	})
}

// Rejected counts a creation refused by a limit from source.
func Rejected(source corev1alpha1.LimitSource) {
	limitRejections.WithLabelValues(string(source)).Inc()
}

// observe sets the gauges from a recount.
func (c *Counter) observe(ctx context.Context, counted map[cluster.ID]int64, took time.Duration) {
	var total, largest int64
	bands := map[string]float64{bandBelowHalf: 0, bandHalf: 0, bandHigh: 0, bandFull: 0}
	for id, n := range counted {
		total += n
		largest = max(largest, n)
		l, ok := c.Limit(ctx, id)
		if !ok || l.Value <= 0 {
			continue
		}
		switch ratio := float64(n) / float64(l.Value); {
		case ratio >= 1:
			bands[bandFull]++
		case ratio >= 0.8:
			bands[bandHigh]++
		case ratio >= 0.5:
			bands[bandHalf]++
		default:
			bands[bandBelowHalf]++
		}
	}
	storedObjects.Set(float64(total))
	largestAccountObjects.Set(float64(largest))
	for band, n := range bands {
		accountsByLimitUsage.WithLabelValues(band).Set(n)
	}
	countDuration.Set(took.Seconds())
}
