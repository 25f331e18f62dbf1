package console

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"sync"
	"time"
)

// errTooManySessions is returned when the store holds as many sessions as it may.
var errTooManySessions = errors.New("too many console sessions")

// session is one signed-in browser.
type session struct {
	// token is the user's bearer token, sent with every proxied request.
	token string
	// csrf must come back in the X-CSRF-Token header of every console API request.
	csrf string
	// user is who the API says the token is ("" when the account does not tell).
	user string
	// account is the account path the user signed in to.
	account string
	// credential identifies the token (a hash) to bound the sessions per credential.
	credential string
	created    time.Time
	lastUsed   time.Time
	// login says how an OIDC session signed in; nil for a pasted token.
	login *oidcLogin
	// expires ends the session when its ID token expires; zero for a pasted token (the API's
	// 401 ends those).
	expires time.Time
}

// sessions is the in-memory session store. Sessions are keyed by a hash of their ID, so that
// the map never holds what the cookie carries.
type sessions struct {
	mu           sync.Mutex
	byKey        map[string]*session
	max          int
	maxPerCred   int
	idle, maxAge time.Duration
	now          func() time.Time
}

func newSessions(max, maxPerCred int, idle, maxAge time.Duration, now func() time.Time) *sessions {
	return &sessions{byKey: map[string]*session{}, max: max, maxPerCred: maxPerCred, idle: idle, maxAge: maxAge, now: now}
}

// randomString returns n random bytes, base64url encoded.
func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (it panics where it would).
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashOf(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// create stores a new session for token and returns its ID. The oldest session of the same
// credential gives way beyond maxPerCred; beyond max in all, expired sessions are dropped and,
// if none was, the new one is refused.
func (s *sessions) create(token, user, account string) (string, *session, error) {
	return s.createLogin(token, user, account, nil, time.Time{})
}

// createLogin is create for a session that signed in with OIDC (login) and ends at expires
// (zero: never by itself).
func (s *sessions) createLogin(token, user, account string, login *oidcLogin, expires time.Time) (string, *session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	cred := hashOf(token)
	var oldestKey string
	var oldest *session
	n := 0
	for k, x := range s.byKey {
		if x.credential != cred {
			continue
		}
		n++
		if oldest == nil || x.lastUsed.Before(oldest.lastUsed) {
			oldestKey, oldest = k, x
		}
	}
	if n >= s.maxPerCred && oldest != nil {
		delete(s.byKey, oldestKey)
	}
	if len(s.byKey) >= s.max {
		s.sweepLocked(now)
		if len(s.byKey) >= s.max {
			return "", nil, errTooManySessions
		}
	}
	id := randomString(32)
	x := &session{token: token, csrf: randomString(32), user: user, account: account, credential: cred, created: now, lastUsed: now,
		login: login, expires: expires}
	s.byKey[hashOf(id)] = x
	return id, x, nil
}

// get returns the live session of id and marks it used; expired sessions are removed.
func (s *sessions) get(id string) (*session, bool) {
	if id == "" {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := hashOf(id)
	x, ok := s.byKey[key]
	if !ok {
		return nil, false
	}
	now := s.now()
	if s.expired(x, now) {
		delete(s.byKey, key)
		return nil, false
	}
	x.lastUsed = now
	return x, true
}

// remove deletes the session of id, if any.
func (s *sessions) remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byKey, hashOf(id))
}

// len returns the number of stored sessions, expired ones included.
func (s *sessions) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byKey)
}

func (s *sessions) expired(x *session, now time.Time) bool {
	return now.Sub(x.lastUsed) > s.idle || now.Sub(x.created) > s.maxAge || !x.expires.IsZero() && !now.Before(x.expires)
}

func (s *sessions) sweepLocked(now time.Time) {
	for k, x := range s.byKey {
		if s.expired(x, now) {
			delete(s.byKey, k)
		}
	}
}

// validCSRF reports whether got is the session's CSRF token, in constant time.
func (x *session) validCSRF(got string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(x.csrf)) == 1
}
