package server

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestConsoleOptionsValidate(t *testing.T) {
	t.Parallel()
	secret := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(secret, []byte("s3cret\n"), 0o600))
	issuer := AuthenticationOptions{OIDC: OIDCOptions{IssuerURL: "https://login.example", ClientID: "kubectl"}}
	for _, c := range []struct {
		name    string
		console ConsoleOptions
		authn   AuthenticationOptions
		errs    int
	}{
		{name: "none"},
		{name: "public client", console: ConsoleOptions{OIDCClientID: "console"}, authn: issuer},
		{name: "confidential client", console: ConsoleOptions{OIDCClientID: "console", OIDCClientSecretFile: secret}, authn: issuer},
		{name: "no issuer", console: ConsoleOptions{OIDCClientID: "console"}, errs: 1},
		{name: "secret without client", console: ConsoleOptions{OIDCClientSecretFile: secret}, authn: issuer, errs: 1},
		{name: "missing secret file", console: ConsoleOptions{OIDCClientID: "console", OIDCClientSecretFile: secret + ".nope"}, authn: issuer, errs: 1},
	} {
		require.Len(t, c.console.Validate(c.authn), c.errs, c.name)
	}
}
