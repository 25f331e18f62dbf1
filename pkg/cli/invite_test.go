package cli

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestInviteValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		args    []string
		expires time.Duration
		wantErr string
	}{
		{name: "an address and a role", args: []string{"alice@example.com", "edit"}},
		{name: "one argument", args: []string{"alice@example.com"}, wantErr: "expected an email address and a role"},
		{name: "a name with the address", args: []string{"Alice <alice@example.com>", "edit"}, wantErr: "not a plain email address"},
		{name: "no address", args: []string{"alice", "edit"}, wantErr: "not a plain email address"},
		{name: "a role with a slash", args: []string{"alice@example.com", "a/b"}, wantErr: "invalid role name"},
		{name: "a negative expiry", args: []string{"alice@example.com", "edit"}, expires: -time.Hour, wantErr: "--expires must be positive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := &InviteOptions{args: tc.args, Expires: tc.expires}
			if len(tc.args) == 2 {
				o.Email, o.Role = tc.args[0], tc.args[1]
			}
			err := o.Validate()
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.wantErr)
		})
	}
}
