package server

import (
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/component-base/metrics"
)

// tenantLabelledMetrics are the upstream (v0.37) metrics whose group, version or resource labels
// would carry the names tenants give their custom resources and bound APIs. Their values are
// constrained (upstream's label allow lists, as --allow-metric-labels sets them) to what the
// server itself serves; anything else is recorded as "unexpected". That keeps tenants' strings
// out of /metrics and the number of series independent of what tenants define. The e2e test
// TestSecurityHole7MetricsLabels fails when a metric outside this list shows a tenant's name.
var tenantLabelledMetrics = []string{
	// k8s.io/apiserver/pkg/endpoints/metrics
	"apiserver_requested_deprecated_apis",
	"apiserver_request_total",
	"apiserver_longrunning_requests",
	"apiserver_request_duration_seconds",
	"apiserver_request_sli_duration_seconds",
	"apiserver_request_slo_duration_seconds",
	"apiserver_response_sizes",
	"apiserver_watch_events_total",
	"apiserver_watch_events_sizes",
	"apiserver_request_terminations_total",
	"apiserver_selfrequest_total",
	"apiserver_request_aborts_total",
	"apiserver_request_timestamp_comparison_time",
	// k8s.io/apiserver/pkg/endpoints/handlers/metrics
	"apiserver_request_body_size_bytes",
	// k8s.io/apiserver/pkg/storage/cacher/metrics
	"apiserver_cache_list_total",
	"apiserver_cache_list_fetched_objects_total",
	"apiserver_cache_list_returned_objects_total",
	"apiserver_init_events_total",
	"apiserver_watch_cache_events_received_total",
	"apiserver_watch_cache_events_dispatched_total",
	"apiserver_terminated_watchers_total",
	"apiserver_watch_cache_resource_version",
	"watch_cache_capacity_increase_total",
	"watch_cache_capacity_decrease_total",
	"watch_cache_capacity",
	"apiserver_watch_cache_initializations_total",
	"apiserver_watch_cache_initialization_errors_total",
	"apiserver_watch_cache_initialization_duration_seconds",
	"apiserver_watch_cache_read_wait_seconds",
	"apiserver_watch_cache_consistent_read_total",
	"apiserver_storage_consistency_checks_total",
	"apiserver_watch_shards_total",
	"apiserver_watch_filtered_events_total",
	"apiserver_watch_events_dispatch_duration_seconds",
	// k8s.io/apiserver/pkg/storage/metrics and value
	"apiserver_storage_transformation_operations_total",
	"apiserver_storage_list_total",
	"apiserver_storage_list_fetched_objects_total",
	"apiserver_storage_list_evaluated_objects_total",
	"apiserver_storage_list_returned_objects_total",
	// k8s.io/apiserver/pkg/storage/etcd3/metrics
	"etcd_request_duration_seconds",
	"etcd_requests_total",
	"etcd_request_errors_total",
	"apiserver_storage_objects",
	"apiserver_resource_size_estimate_bytes",
	"apiserver_resource_objects",
	"apiserver_storage_events_received_total",
	"etcd_bookmark_counts",
	"etcd_bookmark_total",
	"apiserver_storage_decode_errors_total",
	"apiserver_storage_list_duration_seconds",
}

// policyLabelledMetrics are the upstream (v0.37) metrics of admission policies, labelled with
// the names of a policy and its binding; boundMetricLabels records every name as "unexpected".
var policyLabelledMetrics = []string{
	// k8s.io/apiserver/pkg/admission/plugin/policy/validating/metrics
	"apiserver_validating_admission_policy_check_total",
	"apiserver_validating_admission_policy_check_duration_seconds",
}

// webhookLabelledMetrics are the upstream (v0.37) metrics of admission webhooks, labelled with
// the names tenants give their webhooks; boundMetricLabels records every name as "unexpected".
var webhookLabelledMetrics = []string{
	// k8s.io/apiserver/pkg/admission/metrics
	"apiserver_admission_webhook_admission_duration_seconds",
	"apiserver_admission_webhook_rejection_count",
	"apiserver_admission_webhook_fail_open_count",
	"apiserver_admission_webhook_request_total",
	"apiserver_admission_match_condition_evaluation_errors_total",
	"apiserver_admission_match_condition_exclusions_total",
	"apiserver_admission_match_condition_evaluation_seconds",
}

// builtinSubresources are the subresources the server serves, custom resources' included.
var builtinSubresources = []string{"", "status", "scale", "token", "finalize", "content", "approval", "proxy", "log", "binding", "eviction"}

// boundMetricLabels restricts the group, version, resource and subresource labels of the
// tenant-labelled metrics to the groups, versions and resources of s, the server's scheme. It
// must run before the server records any of them: each metric reads its allow list once.
func boundMetricLabels(s *runtime.Scheme) {
	groups, versions, resources := sets.New[string](), sets.New[string](), sets.New[string]()
	for gvk := range s.AllKnownTypes() {
		if gvk.Version == runtime.APIVersionInternal || strings.HasSuffix(gvk.Kind, "List") || strings.HasSuffix(gvk.Kind, "Options") {
			continue
		}
		groups.Insert(gvk.Group)
		versions.Insert(gvk.Version)
		plural, _ := meta.UnsafeGuessKindToResource(gvk)
		resources.Insert(plural.Resource)
	}
	values := map[string]string{
		"group":       joined(groups),
		"version":     joined(versions),
		"resource":    joined(resources),
		"subresource": strings.Join(builtinSubresources, ","),
	}
	allow := map[string]string{}
	for _, m := range tenantLabelledMetrics {
		for label, v := range values {
			allow[m+","+label] = v
		}
	}
	// Policies and bindings are named by tenants, in every account: no name is allowed.
	for _, m := range policyLabelledMetrics {
		for _, label := range []string{"policy", "policy_binding"} {
			allow[m+","+label] = ""
		}
	}
	// So are webhooks.
	for _, m := range webhookLabelledMetrics {
		allow[m+",name"] = ""
	}
	metrics.SetLabelAllowList(allow)
}

func joined(s sets.Set[string]) string {
	return strings.Join(sets.List(s), ",")
}
