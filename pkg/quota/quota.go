// Package quota names what a ResourceQuota may limit here: object counts, as upstream names
// them (count/<resource>.<group>, count/<resource> for the core group, and the legacy names
// configmaps, secrets, ...). There are no pods, so no compute resources.
//
// It must not depend on the server: the registry, the admission plugin and the controller all
// use it.
package quota

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// countPrefix starts the name of an object count.
const countPrefix = "count/"

// legacyCountNames are the object counts a quota may name without countPrefix, as upstream's.
var legacyCountNames = map[corev1.ResourceName]bool{
	corev1.ResourceConfigMaps: true, corev1.ResourceSecrets: true, corev1.ResourceServices: true,
	corev1.ResourcePersistentVolumeClaims: true, corev1.ResourcePods: true, corev1.ResourceReplicationControllers: true,
	corev1.ResourceQuotas: true,
}

// ObjectCount reports whether a quota resource name limits an object count, and the resource
// and group it counts.
func ObjectCount(name corev1.ResourceName) (resource, group string, ok bool) {
	if legacyCountNames[name] {
		return string(name), "", true
	}
	rest, ok := strings.CutPrefix(string(name), countPrefix)
	if !ok || rest == "" {
		return "", "", false
	}
	resource, group, _ = strings.Cut(rest, ".")
	return resource, group, resource != ""
}

// CountNames returns the quota resource names that count the objects of a group resource:
// count/<resource>.<group> (count/<resource> in the core group), and in the core group its
// legacy name too.
func CountNames(resource, group string) []corev1.ResourceName {
	if group != "" {
		return []corev1.ResourceName{corev1.ResourceName(countPrefix + resource + "." + group)}
	}
	names := []corev1.ResourceName{corev1.ResourceName(countPrefix + resource)}
	if legacyCountNames[corev1.ResourceName(resource)] {
		names = append(names, corev1.ResourceName(resource))
	}
	return names
}
