// Package clustersecrets keeps the secrets that every replica of one Account Mesh must share
// (its CA, admin credentials and ServiceAccount signing key) in etcd, sealed with a key derived
// from the cluster token every replica is given. The first replica to find no secrets stores
// its own with one etcd transaction; every other replica, racing or later, reads and opens
// those. A replica with another token cannot open them and writes nothing.
//
// Sealing: AES-256-GCM under a key derived from the token with HKDF-SHA256 (a random salt per
// record, stored with it), the etcd key as additional data, so a record copied to another key
// does not open. The token must be random (HKDF does not slow down guessing a weak one).
//
// It knows neither the API nor what the secrets are: they are named byte strings to it.
package clustersecrets

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Secrets are named secret byte strings.
type Secrets map[string][]byte

// MinTokenBytes is the shortest cluster token accepted.
const MinTokenBytes = 16

// formatVersion is the version of the sealed record.
const formatVersion = 1

// hkdfInfo binds derived keys to this use.
const hkdfInfo = "accountmesh.io cluster secrets v1"

// ErrWrongToken reports secrets that the token does not open.
var ErrWrongToken = errors.New("the cluster token does not open the shared secrets stored in etcd: every replica must be given the same --cluster-token-file")

// sealed is the record stored in etcd.
type sealed struct {
	// Version is formatVersion.
	Version int `json:"version"`
	// Salt is the HKDF salt of the key.
	Salt []byte `json:"salt"`
	// Nonce is the AES-GCM nonce.
	Nonce []byte `json:"nonce"`
	// Data is the sealed JSON of the secrets.
	Data []byte `json:"data"`
}

// ReadToken reads a cluster token from file: its content without surrounding whitespace, at
// least MinTokenBytes long.
func ReadToken(file string) ([]byte, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("failed to read the cluster token: %w", err)
	}
	b = bytes.TrimSpace(b)
	if len(b) < MinTokenBytes {
		return nil, fmt.Errorf("the cluster token in %s has %d bytes; use at least %d random bytes, e.g. the output of `openssl rand -hex 32`", file, len(b), MinTokenBytes)
	}
	return b, nil
}

// Ensure returns the secrets stored at key, opened with token. When none are stored, it stores
// those of create, sealed, unless another replica stores its own first: then it returns those.
// It reports whether it stored its own. Secrets it cannot open are an error wrapping
// ErrWrongToken, and nothing is written then.
func Ensure(ctx context.Context, kv clientv3.KV, key string, token []byte, create func() (Secrets, error)) (Secrets, bool, error) {
	resp, err := kv.Get(ctx, key)
	if err != nil {
		return nil, false, fmt.Errorf("failed to read the shared secrets %s from etcd: %w", key, err)
	}
	if len(resp.Kvs) > 0 {
		s, err := open(resp.Kvs[0].Value, key, token)
		return s, false, err
	}
	mine, err := create()
	if err != nil {
		return nil, false, err
	}
	value, err := seal(mine, key, token)
	if err != nil {
		return nil, false, err
	}
	txn, err := kv.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, string(value))).
		Else(clientv3.OpGet(key)).
		Commit()
	if err != nil {
		return nil, false, fmt.Errorf("failed to store the shared secrets %s in etcd: %w", key, err)
	}
	if txn.Succeeded {
		return mine, true, nil
	}
	kvs := txn.Responses[0].GetResponseRange().Kvs
	if len(kvs) == 0 {
		return nil, false, fmt.Errorf("the shared secrets %s vanished from etcd", key)
	}
	s, err := open(kvs[0].Value, key, token)
	return s, false, err
}

// aead returns the cipher of token with salt.
func aead(token, salt []byte) (cipher.AEAD, error) {
	k, err := hkdf.Key(sha256.New, token, salt, hkdfInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("failed to derive the cluster key: %w", err)
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, fmt.Errorf("failed to derive the cluster key: %w", err)
	}
	return cipher.NewGCM(block)
}

// seal encrypts s for key with token.
func seal(s Secrets, key string, token []byte) ([]byte, error) {
	plain, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("failed to encode the shared secrets: %w", err)
	}
	r := sealed{Version: formatVersion, Salt: make([]byte, 16)}
	_, _ = rand.Read(r.Salt)
	gcm, err := aead(token, r.Salt)
	if err != nil {
		return nil, err
	}
	r.Nonce = make([]byte, gcm.NonceSize())
	_, _ = rand.Read(r.Nonce)
	r.Data = gcm.Seal(nil, r.Nonce, plain, []byte(key))
	return json.Marshal(r)
}

// open decrypts the record value stored at key with token.
func open(value []byte, key string, token []byte) (Secrets, error) {
	var r sealed
	if err := json.Unmarshal(value, &r); err != nil {
		return nil, fmt.Errorf("failed to decode the shared secrets %s: %w", key, err)
	}
	if r.Version != formatVersion {
		return nil, fmt.Errorf("the shared secrets %s have format version %d; this version of Account Mesh reads version %d", key, r.Version, formatVersion)
	}
	gcm, err := aead(token, r.Salt)
	if err != nil {
		return nil, err
	}
	if len(r.Nonce) != gcm.NonceSize() {
		return nil, fmt.Errorf("the shared secrets %s have a nonce of %d bytes", key, len(r.Nonce))
	}
	plain, err := gcm.Open(nil, r.Nonce, r.Data, []byte(key))
	if err != nil {
		return nil, fmt.Errorf("failed to open the shared secrets %s: %w", key, ErrWrongToken)
	}
	var s Secrets
	if err := json.Unmarshal(plain, &s); err != nil {
		return nil, fmt.Errorf("failed to decode the shared secrets %s: %w", key, err)
	}
	return s, nil
}
