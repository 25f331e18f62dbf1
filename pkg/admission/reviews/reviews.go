// Package reviews names the review resources (token, access and self-subject reviews): creating
// one asks the server a question and stores nothing, so admission plugins that guard what is
// stored leave them alone, as upstream's do.
//
// It holds names only and must not import serving code.
package reviews

import (
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"
)

// Resources returns the review resources.
func Resources() sets.Set[schema.GroupResource] {
	return sets.New(
		authenticationv1.Resource("tokenreviews"),
		authenticationv1.Resource("selfsubjectreviews"),
		authorizationv1.Resource("subjectaccessreviews"),
		authorizationv1.Resource("selfsubjectaccessreviews"),
		authorizationv1.Resource("localsubjectaccessreviews"),
		authorizationv1.Resource("selfsubjectrulesreviews"),
	)
}
