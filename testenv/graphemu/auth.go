package graphemu

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Tokens (Entra ID client credentials).

type tokenInfo struct {
	clientID string
	expires  time.Time
}

func (s *Server) serveAuth(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	// /{tenant}/v2.0/.well-known/openid-configuration
	if len(parts) == 4 && parts[1] == "v2.0" && parts[2] == ".well-known" && parts[3] == "openid-configuration" {
		t := parts[0]
		if s.opts.Tenant != "" && !strings.EqualFold(t, s.opts.Tenant) && t != "organizations" && t != "common" {
			writeJSON(w, 400, map[string]string{"error": "invalid_tenant", "error_description": "AADSTS90002: Tenant '" + t + "' not found."})
			return
		}
		base := s.baseURL + "/" + t
		writeJSON(w, 200, map[string]any{
			"token_endpoint":                        base + "/oauth2/v2.0/token",
			"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
			"issuer":                                base + "/v2.0",
			"jwks_uri":                              base + "/discovery/v2.0/keys",
			"response_types_supported":              []string{"code", "token"},
			"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt"},
		})
		return
	}
	// /{tenant}/oauth2/v2.0/token
	if len(parts) == 4 && parts[1] == "oauth2" && parts[2] == "v2.0" && parts[3] == "token" && r.Method == http.MethodPost {
		s.serveToken(w, r, parts[0])
		return
	}
	writeError(w, 404, "ResourceNotFound", "no such endpoint: "+r.URL.Path)
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]any{"error": code, "error_description": desc, "error_codes": []int{}})
}

func (s *Server) serveToken(w http.ResponseWriter, r *http.Request, tenant string) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, 400, "invalid_request", "AADSTS900144: malformed body")
		return
	}
	if s.opts.Tenant != "" && !strings.EqualFold(tenant, s.opts.Tenant) {
		oauthError(w, 400, "invalid_request", "AADSTS90002: Tenant '"+tenant+"' not found.")
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != "client_credentials" {
		oauthError(w, 400, "unsupported_grant_type", "AADSTS70003: grant type "+gt+" is not supported")
		return
	}
	clientID := r.PostForm.Get("client_id")
	secret := r.PostForm.Get("client_secret")
	assertion := r.PostForm.Get("client_assertion")
	if clientID == "" {
		oauthError(w, 400, "invalid_request", "AADSTS900144: The request body must contain the following parameter: 'client_id'.")
		return
	}
	if secret == "" && assertion == "" {
		oauthError(w, 401, "invalid_client", "AADSTS7000216: 'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.")
		return
	}
	if assertion != "" && strings.Count(assertion, ".") != 2 {
		oauthError(w, 401, "invalid_client", "AADSTS50027: JWT token is invalid or malformed.")
		return
	}
	if s.opts.Clients != nil {
		want, ok := s.opts.Clients[clientID]
		if !ok {
			oauthError(w, 400, "unauthorized_client", "AADSTS700016: Application with identifier '"+clientID+"' was not found in the directory.")
			return
		}
		if secret != "" && secret != want {
			oauthError(w, 401, "invalid_client", "AADSTS7000215: Invalid client secret provided.")
			return
		}
	}
	var b [24]byte
	_, _ = rand.Read(b[:])
	tok := fmt.Sprintf("emu.%x", b)
	life := s.opts.TokenLifetime
	if life <= 0 {
		life = time.Hour
	}
	stated := s.opts.TokenExpiresIn
	if stated <= 0 {
		stated = life
	}
	s.mu.Lock()
	s.tokens[tok] = tokenInfo{clientID: clientID, expires: time.Now().Add(life)}
	s.mu.Unlock()
	s.stats.tokensIssued.Add(1)
	sec := max(int(stated/time.Second), 1)
	writeJSON(w, 200, map[string]any{
		"token_type":     "Bearer",
		"expires_in":     sec,
		"ext_expires_in": sec,
		"access_token":   tok,
	})
}

// tokenState is what authenticate found.
type tokenState int

const (
	tokenValid tokenState = iota
	tokenMissing
	tokenUnknown
	tokenExpired
)

// authenticate returns the client id of a valid bearer token.
func (s *Server) authenticate(r *http.Request) (string, tokenState) {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || tok == "" {
		return "", tokenMissing
	}
	s.mu.Lock()
	ti, ok := s.tokens[tok]
	s.mu.Unlock()
	switch {
	case !ok:
		return "", tokenUnknown
	case time.Now().After(ti.expires):
		return ti.clientID, tokenExpired
	}
	return ti.clientID, tokenValid
}

// refuseToken answers a request without a valid token as Graph does: 401
// InvalidAuthenticationToken with a WWW-Authenticate challenge.
func (s *Server) refuseToken(w http.ResponseWriter, st tokenState) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`)
	switch st {
	case tokenMissing:
		writeError(w, 401, "InvalidAuthenticationToken", "Access token is empty.")
	case tokenExpired:
		s.stats.tokensExpired.Add(1)
		writeError(w, 401, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.")
	default:
		writeError(w, 401, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.")
	}
}

// ExpireTokens ends the lifetime of every access token issued so far, as
// if each had reached its expiry now: the next request with one gets 401
// "Lifetime validation failed, the token is expired.", although the
// token response stated a longer life.
func (s *Server) ExpireTokens() {
	past := time.Now().Add(-time.Second)
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, ti := range s.tokens {
		ti.expires = past
		s.tokens[k] = ti
	}
}
