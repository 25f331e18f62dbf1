package server

import (
	"context"
	"fmt"
	"net/http"

	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// acceptInvites grants the invites of email (a verified address of the ID token's user) to the
// user idToken authenticates as in account, exactly as the API would authenticate it there (an
// organisation's token only in its organisation). A token the API would not accept grants
// nothing.
func (s *apiServer) acceptInvites(ctx context.Context, account, idToken, email string) error {
	id, ok := s.Index.Resolve(account)
	if !ok {
		return nil
	}
	req, err := http.NewRequestWithContext(cluster.WithCluster(ctx, id), http.MethodGet, "/", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+idToken)
	resp, ok, err := s.authn.bearerTokens().AuthenticateRequest(req)
	if err != nil {
		return fmt.Errorf("failed to authenticate the ID token for invites: %w", err)
	}
	if !ok {
		return nil
	}
	_, err = s.invites.Accept(ctx, resp.User, email)
	return err
}
