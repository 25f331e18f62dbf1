package e2e

import (
	"encoding/base64"
	"testing"

	"github.com/stretchr/testify/require"
)

func decodeSecretKey(t *testing.T, b64 string) string {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(b64)
	require.NoError(t, err)
	return string(b)
}
