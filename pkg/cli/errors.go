package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// AccountNotFoundError says that an account does not exist (or is not visible to the user).
type AccountNotFoundError struct {
	// Account is the path or cluster ID that was asked for.
	Account string
	// Err is the server's answer.
	Err error
}

func (e *AccountNotFoundError) Error() string {
	return fmt.Sprintf("account %q not found", e.Account)
}

func (e *AccountNotFoundError) Unwrap() error {
	return e.Err
}

// NotReadyError says that an account did not become Ready in time.
type NotReadyError struct {
	// Path is the account's path.
	Path string
	// Timeout is how long the command waited.
	Timeout time.Duration
	// Phase is the last phase seen, if any.
	Phase string
	// Initializers are the initializers that were still pending, if any.
	Initializers []string
}

func (e *NotReadyError) Error() string {
	msg := fmt.Sprintf("account %q is not ready after %s", e.Path, e.Timeout)
	switch {
	case len(e.Initializers) > 0:
		return msg + ": waiting for initializers: " + strings.Join(e.Initializers, ", ")
	case e.Phase != "":
		return msg + ": phase is " + e.Phase
	default:
		return msg
	}
}

// Message returns the one-line message of an error for the user: the plugin's own errors as
// they are, server errors as the server's message, anything else as its full text.
func Message(err error) string {
	var notFound *AccountNotFoundError
	var notReady *NotReadyError
	var status apierrors.APIStatus
	msg := err.Error()
	switch {
	case errors.As(err, &notFound):
		msg = notFound.Error()
	case errors.As(err, &notReady):
		msg = notReady.Error()
	case errors.As(err, &status) && status.Status().Message != "":
		msg = status.Status().Message
	}
	return strings.Join(strings.Fields(msg), " ")
}

// PrintError writes the error as one line, "error: <message>", as kubectl does.
func PrintError(w io.Writer, err error) {
	_, _ = fmt.Fprintln(w, "error: "+Message(err))
}
