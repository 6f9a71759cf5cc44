package graphdst

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/imapmig/imapmig/graphdst/internal/convert"
	"github.com/imapmig/imapmig/migrate"
)

// SourceKeyProperty is the named extended property that carries a message's
// source key (docs/ARCHITECTURE.md, "The path of one message"). The GUID is imapmig's own and must never change.
const SourceKeyProperty = "String {8ad1c3e0-8c3b-4f55-9a57-6b0b9f2a1f01} Name SourceKey"

// pendingPrefix marks an incomplete message of an earlier version, which
// built large messages in their destination folder; Keys and LookupKey
// never report one and SweepPending removes them. Large messages are now
// built in the hidden staging folder (staging.go).
const pendingPrefix = "pending:"

const (
	// uploadChunk is the size of one upload-session PUT (a multiple of
	// 320 KiB, under 4 MB).
	uploadChunk = 12 * 320 << 10
	// discardTimeout bounds the removal of an incomplete item after a
	// failed create.
	discardTimeout = 30 * time.Second
)

// Mailbox is one destination mailbox; it implements migrate.Mailbox.
type Mailbox struct {
	t       *Target
	address string
	user    string // path-escaped address
	id      string // directory object id
	g       *governor

	fmu     sync.Mutex
	folders map[string]string // path key → folder id

	// empty holds the folders this Mailbox created (201) and into which
	// nothing has been written since (emptyfolders.go). Its own lock:
	// folders are created while fmu or smu is held.
	emu   sync.Mutex
	empty map[string]bool

	smu            sync.Mutex
	stagingID      string // the hidden staging folder (staging.go)
	stagingChecked bool   // looked up, and purged if it exists
}

var _ migrate.Mailbox = (*Mailbox)(nil)

// ID is the mailbox's directory object id.
func (m *Mailbox) ID() string { return m.id }

func (m *Mailbox) path(p string) string { return "/users/" + m.user + p }

func odataQuery(v url.Values) string {
	return strings.ReplaceAll(v.Encode(), "+", "%20")
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func (m *Mailbox) get(ctx context.Context, p string) (*response, error) {
	return m.t.do(ctx, m.g, request{method: http.MethodGet, url: p, idempotent: true})
}

func (m *Mailbox) jsonReq(ctx context.Context, method, p string, v any, idempotent bool) (*response, request, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, request{}, migrate.Fatal(err)
	}
	rq := request{method: method, url: p, body: b, idempotent: idempotent}
	resp, err := m.t.do(ctx, m.g, rq)
	return resp, rq, err
}

// Mailbox resolves a mailbox (GET /users/{address} through msgraph-sdk-go).
// A 404 is migrate.ErrRecipientNotFound wrapped in FailUser.
func (t *Target) Mailbox(ctx context.Context, address string) (migrate.Mailbox, error) {
	id, err := t.resolve(ctx, address)
	if err != nil {
		return nil, err
	}
	return &Mailbox{t: t, address: address, user: url.PathEscape(address), id: id, g: t.governor(id), folders: map[string]string{}}, nil
}

func (t *Target) resolve(ctx context.Context, address string) (string, error) {
	h := abs.NewRequestHeaders()
	h.Add("Prefer", preferImmutable)
	sel := []string{"id", "userPrincipalName", "mail"}
	var refused refusals
	var first, last time.Time // 5xx or transport failures (outage.go)
	for attempt := 0; ; attempt++ {
		gen := t.cred.generation()
		u, err := t.client.Users().ByUserId(address).Get(ctx, &users.UserItemRequestBuilderGetRequestConfiguration{
			Headers: h, QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{Select: sel},
		})
		if err == nil {
			t.answered()
			if u.GetId() == nil {
				return "", migrate.Retryable(errors.New("graphdst: user without id"))
			}
			return *u.GetId(), nil
		}
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		var oe *odataerrors.ODataError
		status, code := 0, ""
		if errors.As(err, &oe) {
			status = oe.ResponseStatusCode
			if me := oe.GetErrorEscaped(); me != nil && me.GetCode() != nil {
				code = *me.GetCode()
			}
		} else {
			var ae *abs.ApiError
			if errors.As(err, &ae) {
				status = ae.ResponseStatusCode
			}
		}
		if status != 0 && status < 500 {
			t.answered()
		}
		if tokenRefused(status, code) && refused.again(gen) { // with a fresh token (client.go, do)
			if t.renewToken(gen, "/users/"+address) {
				attempt--
				continue
			}
		}
		switch {
		case status == http.StatusNotFound:
			return "", migrate.FailUser(migrate.ReasonRecipientNotFound, fmt.Errorf("%w: %s (%s)", migrate.ErrRecipientNotFound, address, code))
		case status == http.StatusUnauthorized || status == http.StatusForbidden:
			return "", migrate.FailUser(code, &GraphError{Status: status, Code: code, Method: "GET", Path: "/users/" + address})
		case status == 0 && isAuthErr(err):
			return "", migrate.FailUser("TokenAcquisitionFailed", sanitizeAuthError(err))
		}
		failure := fmt.Errorf("graphdst: resolve %s: status %d %s", address, status, code)
		if status != 0 && status < 500 { // a 429: the budget's backoff
			if attempt+1 >= t.budget.MaxAttempts {
				return "", migrate.Retryable(failure)
			}
			if berr := t.backoff(ctx, attempt); berr != nil {
				return "", berr
			}
			continue
		}
		now := time.Now()
		if first.IsZero() {
			first = now
		}
		prev := cmp.Or(last, now)
		last = now
		if !t.keepTrying(attempt, first, prev) {
			if time.Since(first) >= t.outageLimit {
				return "", unavailable(failure, first)
			}
			return "", migrate.Retryable(failure)
		}
		if berr := t.pause(ctx, t.outageBackoff(attempt, 0, first), migrate.ReasonGraphUnavailable+": "+failure.Error()); berr != nil {
			return "", berr
		}
	}
}

// Test checks that mailbox exists and its inbox can be read.
func (t *Target) Test(ctx context.Context, mailbox string) error {
	m, err := t.Mailbox(ctx, mailbox)
	if err != nil {
		return err
	}
	_, err = m.EnsureFolder(ctx, migrate.FolderPath{WellKnown: migrate.WellKnownInbox})
	return err
}

// SendMail sends an HTML report from the sender mailbox with messageID as
// its internetMessageId. sendMail is not idempotent: a 5xx or a cut
// connection can come after Exchange accepted the mail. So with a
// messageID, SendMail first looks for a mail with that id in the
// sender's mailbox (sentMail) and sends only if there is none, and after
// an unknown outcome it looks again before it sends again.
func (t *Target) SendMail(ctx context.Context, from string, to []string, subject, html, messageID string) error {
	id, err := t.resolve(ctx, from)
	if err != nil {
		return err
	}
	g := t.governor(id)
	user := "/users/" + url.PathEscape(from)
	sent := func(ctx context.Context) (bool, error) { return t.sentMail(ctx, g, user, messageID) }
	if messageID != "" {
		done, err := sent(ctx)
		if err != nil {
			return err
		}
		if done {
			t.log.Info("report mail already sent; not sent again", "internetMessageId", messageID)
			return nil
		}
	}
	var rcpt []convert.Recipient
	for _, a := range to {
		rcpt = append(rcpt, convert.Recipient{EmailAddress: convert.EmailAddress{Address: a}})
	}
	msg := map[string]any{
		"subject":      subject,
		"body":         convert.ItemBody{ContentType: "html", Content: html},
		"toRecipients": rcpt,
	}
	if messageID != "" {
		msg["internetMessageId"] = messageID
	}
	b, err := json.Marshal(map[string]any{"message": msg, "saveToSentItems": true})
	if err != nil {
		return migrate.Fatal(err)
	}
	rq := request{method: http.MethodPost, url: user + "/sendMail", body: b}
	if messageID != "" {
		rq.resolve = sent
	}
	resp, err := t.do(ctx, g, rq)
	if err != nil {
		var ae *ambiguousError
		if errors.As(err, &ae) {
			return migrate.Retryable(err)
		}
		return err
	}
	if resp.resolved {
		t.log.Info("report mail sent although Graph answered an error; not sent again", "internetMessageId", messageID)
		return nil
	}
	if resp.status != http.StatusAccepted && resp.status != http.StatusOK {
		return classify(t.graphError(rq, resp))
	}
	return nil
}

// sentMail reports whether the mailbox holds a message with internet
// message id imid. It searches the whole mailbox, not only Sent Items:
// Exchange answers sendMail's 202 once the mail is saved in Drafts and
// moves it to Sent Items when transport has taken it (Graph docs, "Send
// mail by using the Microsoft Graph API"); either way it is sent.
func (t *Target) sentMail(ctx context.Context, g *governor, user, imid string) (bool, error) {
	q := odataQuery(url.Values{
		"$filter": {"internetMessageId eq " + quote(imid)},
		"$select": {"id,parentFolderId"},
		"$top":    {"1"},
	})
	resp, err := t.do(ctx, g, request{method: http.MethodGet, url: user + "/messages?" + q, idempotent: true})
	if err != nil {
		return false, err
	}
	if resp.status != http.StatusOK {
		return false, classify(t.graphError(request{method: http.MethodGet, url: user + "/messages"}, resp))
	}
	var page struct {
		Value []struct {
			ID string `json:"id"`
		} `json:"value"`
	}
	if err := json.Unmarshal(resp.body, &page); err != nil {
		return false, migrate.Retryable(fmt.Errorf("graphdst: looking up a sent mail: %w", err))
	}
	return len(page.Value) > 0, nil
}

// PacingUntil implements migrate.Pacer: until when this mailbox's requests
// wait for Graph's budget (the governor's windows or a 429's Retry-After);
// a time in the past when none waits.
func (m *Mailbox) PacingUntil() time.Time { return m.g.pacingUntil() }
