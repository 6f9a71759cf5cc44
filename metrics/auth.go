package metrics

import (
	"crypto/subtle"
	"net/http"
	"strings"
)

// RequireToken serves h only to requests with "Authorization: Bearer
// token" (the API token), as Prometheus sends with its
// authorization/credentials_file setting; others get 401.
func RequireToken(token string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || token == "" || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="imapmig"`)
			http.Error(w, "metrics need the API token (Authorization: Bearer)", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}
