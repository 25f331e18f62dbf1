package rbac

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/accountmesh/accountmesh/pkg/registry/store"
)

// NewStorage returns the storage of the rbac.authorization.k8s.io/v1 resources, keyed by
// resource name.
func NewStorage(scheme *runtime.Scheme, getter generic.RESTOptionsGetter) (map[string]rest.Storage, error) {
	return store.NewGroup(scheme, getter,
		roleOptions(),
		roleBindingOptions(),
		clusterRoleOptions(),
		clusterRoleBindingOptions(),
	)
}

// validatePathSegmentName validates RBAC object names as a real cluster does: any name that can
// be one segment of a URL path.
func validatePathSegmentName(name string, prefix bool) []string {
	if !prefix && (name == "." || name == "..") {
		return []string{fmt.Sprintf("may not be '%s'", name)}
	}
	var errs []string
	for _, illegal := range []string{"/", "%"} {
		if strings.Contains(name, illegal) {
			errs = append(errs, fmt.Sprintf(`may not contain '%s'`, illegal))
		}
	}
	return errs
}
