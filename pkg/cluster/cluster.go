package cluster

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
)

// ID is the opaque, random, immutable identifier of an account. Storage keys use IDs, never paths.
type ID string

// Wildcard is the pseudo cluster of cross-account list and watch requests.
const Wildcard ID = "*"

// Unknown is the cluster of requests to an account that does not exist. It never resolves and
// no policy exists in it.
const Unknown ID = "-"

// URLPrefix is the path prefix under which every account is served: URLPrefix + path or ID.
const URLPrefix = "/clusters/"

// RootPath is the path of the root account.
const RootPath = "root"

// RootPhase is the phase of the root account, which has no Account object: it is always
// Ready.
const RootPhase = "Ready"

// PathSeparator separates the names in an account path.
const PathSeparator = ":"

// MaxPathLength bounds the length of an account path. It keeps keys, URLs and annotations of
// deep trees well within etcd and HTTP limits.
const MaxPathLength = 2048

// idLength is the length of generated cluster IDs; it differs from the length of "root" so that
// an ID can never be mistaken for a path.
const idLength = 16

const idAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// NewID returns a new random cluster ID: 16 characters of [a-z0-9] starting with a letter.
func NewID() ID {
	b := make([]byte, idLength)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("failed to read random bytes: %v", err))
	}
	for i := range b {
		alphabet := idAlphabet
		if i == 0 {
			alphabet = idAlphabet[:26]
		}
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return ID(b)
}

// IsValidID reports whether s has the shape of a generated cluster ID.
func IsValidID(s string) bool {
	if len(s) != idLength || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune(idAlphabet, c) {
			return false
		}
	}
	return true
}

// Resolver resolves an account path or cluster ID to a cluster ID.
type Resolver interface {
	Resolve(pathOrID string) (ID, bool)
}

// Join returns the path of the child account name under parent.
func Join(parent, name string) string {
	return parent + PathSeparator + name
}

type contextKey struct{}

// WithCluster returns a context that carries the cluster of a request.
func WithCluster(ctx context.Context, id ID) context.Context {
	return context.WithValue(ctx, contextKey{}, id)
}

// FromContext returns the cluster of a request, and false if the request has none.
func FromContext(ctx context.Context) (ID, bool) {
	id, ok := ctx.Value(contextKey{}).(ID)
	return id, ok && id != ""
}
