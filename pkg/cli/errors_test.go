package cli

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestMessage(t *testing.T) {
	t.Parallel()
	accounts := schema.GroupKind{Group: "core.accountmesh.io", Kind: "Account"}
	invalid := apierrors.NewInvalid(accounts, "Bad_Name", field.ErrorList{
		field.Invalid(field.NewPath("metadata", "name"), "Bad_Name", "a lowercase RFC 1123 label must consist of\nlower case alphanumeric characters"),
	})
	tests := []struct {
		name string
		err  error
		want string
	}{
		{
			name: "account not found, wrapped",
			err:  fmt.Errorf("failed to switch: %w", &AccountNotFoundError{Account: "root:acme:nope", Err: apierrors.NewNotFound(schema.GroupResource{}, "account")}),
			want: `account "root:acme:nope" not found`,
		},
		{
			name: "not ready with initializers",
			err:  &NotReadyError{Path: "root:x:y", Timeout: time.Minute, Phase: "Initializing", Initializers: []string{"a", "b"}},
			want: `account "root:x:y" is not ready after 1m0s: waiting for initializers: a, b`,
		},
		{
			name: "not ready without initializers",
			err:  &NotReadyError{Path: "root:x:y", Timeout: 5 * time.Second, Phase: "Initializing"},
			want: `account "root:x:y" is not ready after 5s: phase is Initializing`,
		},
		{
			name: "not ready without status",
			err:  &NotReadyError{Path: "root:x:y", Timeout: 5 * time.Second},
			want: `account "root:x:y" is not ready after 5s`,
		},
		{
			name: "server error: the server's message on one line",
			err:  fmt.Errorf("failed to create account: %w", invalid),
			want: `Account.core.accountmesh.io "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 label must consist of lower case alphanumeric characters`,
		},
		{
			name: "other error",
			err:  fmt.Errorf("failed to load the kubeconfig: %w", errors.New("no such file")),
			want: "failed to load the kubeconfig: no such file",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, Message(tt.err))
			var b strings.Builder
			PrintError(&b, tt.err)
			require.Equal(t, "error: "+tt.want+"\n", b.String())
		})
	}
}
