package cluster

import (
	"fmt"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// AccountNotFound is the error of a request for an account that does not exist, as named in
// the request: the one answer for every account a caller may not learn about.
func AccountNotFound(name string) error {
	return NotFound(fmt.Sprintf("account %q not found", name))
}

// NotFound returns a 404 status error with msg.
func NotFound(msg string) error {
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status:  metav1.StatusFailure,
		Code:    http.StatusNotFound,
		Reason:  metav1.StatusReasonNotFound,
		Message: msg,
	}}
}
