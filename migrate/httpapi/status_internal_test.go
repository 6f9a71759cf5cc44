package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/imapmig/imapmig/migrate"
)

// TestErrorStatus_UserFailuresAreNotInternalErrors: `user verify` on a
// user without a mailbox (or whose login fails) answers 404/409 with the
// reason, not 500.
func TestErrorStatus_UserFailuresAreNotInternalErrors(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code int
		want string
	}{
		{migrate.FailUser(migrate.ReasonRecipientNotFound, fmt.Errorf("ghost@contoso.com: %w", migrate.ErrRecipientNotFound)), http.StatusNotFound, "RecipientNotFound"},
		{fmt.Errorf("verify: %w", migrate.ErrRecipientNotFound), http.StatusNotFound, "RecipientNotFound"},
		{migrate.FailUser(migrate.ReasonImapAuthenticationFailed, errors.New("AUTHENTICATIONFAILED")), http.StatusConflict, "ImapAuthenticationFailed"},
		{errors.New("boom"), http.StatusInternalServerError, "InternalError"},
	} {
		code, d := errorStatus(tc.err)
		if code != tc.code || d.Code != tc.want {
			t.Errorf("%v: %d %s, want %d %s", tc.err, code, d.Code, tc.code, tc.want)
		}
	}
}
