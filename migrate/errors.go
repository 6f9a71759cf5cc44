package migrate

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/imapmig/imapmig/csvbatch"
	"github.com/imapmig/imapmig/state"
)

// Kind says what the engine does about an error (docs/ARCHITECTURE.md, "Errors"). Errors are
// classified by behaviour, never by their text.
type Kind int

const (
	// KindRetryable: back off and resume from the last committed UID
	// (network, 429, 5xx, IMAP BYE). Unclassified errors are retryable.
	KindRetryable Kind = iota
	// KindSkipItem: record the message as skipped with a reason and go on.
	KindSkipItem
	// KindFailUser: stop this user with a reason (auth failure, recipient
	// not found); other users go on.
	KindFailUser
	// KindFatal: stop the daemon (bad config, corrupt state).
	KindFatal
)

func (k Kind) String() string {
	switch k {
	case KindRetryable:
		return "retryable"
	case KindSkipItem:
		return "skip-item"
	case KindFailUser:
		return "fail-user"
	case KindFatal:
		return "fatal"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Reasons recorded on skipped items and failed users. They are stable
// operator-facing identifiers.
const (
	ReasonRecipientNotFound        = "RecipientNotFound"
	ReasonImapAuthenticationFailed = "ImapAuthenticationFailed"
	ReasonImapConnectionFailed     = "ImapConnectionFailed"
	ReasonImapTLSFailed            = "ImapCertificateNotTrusted"
	ReasonMessageTooLarge          = "MessageTooLarge"
	ReasonMailboxItemLimit         = "MailboxItemLimit"
	ReasonMalformedMessage         = "MalformedMessage"
	ReasonSmimeStoredAsAttachment  = "SmimeStoredAsAttachment"
	// ReasonImapCapabilityMissing: the IMAP server lacks a capability an
	// operation cannot do without (a *CapabilityError names it). It is
	// permanent for that server: the user fails instead of retrying.
	ReasonImapCapabilityMissing = "ImapCapabilityMissing"
	// ReasonImapConnectionLimit: the IMAP server refused a login because the
	// user has too many connections open. It is retried with backoff.
	ReasonImapConnectionLimit = "ImapConnectionLimit"
	// ReasonGraphUnavailable: Microsoft Graph answered nothing but 5xx (or
	// nothing at all) for longer than the outage limit (config
	// graph_outage_limit). While it lasts, a pass waits and shows it in
	// WaitingFor.
	ReasonGraphUnavailable = "GraphUnavailable"
)

// Notes on messages that were migrated, but not as a plain copy: the
// operator sees how many of each (UserView.ItemNotes).
const (
	// NoteSmimeStoredAsAttachment: an S/MIME message stored the way
	// Exchange stores them, the original MIME as smime.p7m (docs/HOW-MAIL-IS-COPIED.md, "Writing to Exchange Online").
	NoteSmimeStoredAsAttachment = ReasonSmimeStoredAsAttachment
	// NoteStoredAsOriginalEml: a message that could not be parsed was
	// stored with a short text body and the original as original.eml.
	NoteStoredAsOriginalEml = "UnparseableStoredAsEml"
	// NoteBodyStoredAsAttachment: a body too large for a Graph request
	// was attached instead of shown.
	NoteBodyStoredAsAttachment = "BodyStoredAsAttachment"
	// NoteRepairedMime: a message with broken MIME (a header line without
	// a colon, a missing or wrong boundary, an invalid Content-Type, bad
	// base64 or charset, ...) was repaired as a mail client reads it.
	NoteRepairedMime = "RepairedMime"
)

// Sentinel errors that adapters wrap so the engine can test with errors.Is.
var (
	// ErrRecipientNotFound: the target mailbox does not exist.
	ErrRecipientNotFound = errors.New("recipient mailbox not found")
	// ErrAuthFailed: the IMAP server refused the login.
	ErrAuthFailed = errors.New("IMAP authentication failed")
	// ErrNoCondStore: the IMAP server cannot report changes since a MODSEQ.
	// It is a *CapabilityError: errors.Is matches any CapabilityError for
	// CONDSTORE. No Source of this repository returns it (ChangedSince
	// falls back to a full flag scan, see Source); the engine still falls
	// back when a Source does, and a second refusal fails the user.
	ErrNoCondStore error = &CapabilityError{Capability: "CONDSTORE", Op: "report changes since a MODSEQ"}
	// ErrConnectionLimit: the IMAP server refused a connection because the
	// user has too many open (or it is temporarily unavailable). The
	// Source retries with backoff and fewer connections; what reaches the
	// engine is retryable with ReasonImapConnectionLimit, never an
	// authentication failure.
	ErrConnectionLimit = errors.New("IMAP server refused the connection: too many connections")
	// ErrFolderGone: the folder no longer exists on the source or target.
	ErrFolderGone = errors.New("folder no longer exists")
	// ErrMessageGone: the message was expunged between listing and
	// fetching it; the engine drops it from this pass, it is not skipped.
	ErrMessageGone = errors.New("message no longer exists on the source")
	// ErrUIDValidityChanged: a folder's UIDVALIDITY changed during a pass;
	// the pass is retried and the next one rebuilds the folder.
	ErrUIDValidityChanged = errors.New("folder UIDVALIDITY changed")
)

// CapabilityError: the source server lacks a capability that an operation
// cannot do without. It is permanent for that server, never a retry loop:
// unless a classified *Error wraps it, KindOf reports KindFailUser and
// ReasonOf ReasonImapCapabilityMissing. Error() names the capability.
type CapabilityError struct {
	Capability string // e.g. "CONDSTORE", "AUTH=PLAIN"
	Op         string // what needed it, e.g. "SASL PLAIN master-user login"
	Host       string // the server, when known
	Hint       string // what the operator can do, when anything
}

func (e *CapabilityError) Error() string {
	s := "IMAP server"
	if e.Host != "" {
		s += " " + e.Host
	}
	s += " lacks the " + e.Capability + " capability"
	if e.Op != "" {
		s += ", needed to " + e.Op
	}
	if e.Hint != "" {
		s += "; " + e.Hint
	}
	return s
}

// Is makes errors.Is(err, ErrNoCondStore) match any CapabilityError for the
// same capability.
func (e *CapabilityError) Is(target error) bool {
	o, ok := target.(*CapabilityError)
	return ok && strings.EqualFold(o.Capability, e.Capability)
}

// Error carries a classification, an operator-facing reason and the cause.
type Error struct {
	Kind   Kind
	Reason string // e.g. ReasonMessageTooLarge or a Graph error code
	// RetryAfter, when non-zero, is the least time to wait before retrying.
	RetryAfter time.Duration
	Err        error
}

func (e *Error) Error() string {
	if e.Reason != "" && e.Err != nil {
		return e.Reason + ": " + e.Err.Error()
	}
	if e.Err != nil {
		return e.Err.Error()
	}
	return e.Reason
}

func (e *Error) Unwrap() error { return e.Err }

func classify(k Kind, reason string, err error) error {
	if err == nil {
		err = errors.New(reason)
	}
	return &Error{Kind: k, Reason: reason, Err: err}
}

// Retryable marks err as transient.
func Retryable(err error) error { return classify(KindRetryable, "", err) }

// RetryAfter marks err as transient with a least wait.
func RetryAfter(err error, d time.Duration) error {
	return &Error{Kind: KindRetryable, RetryAfter: d, Err: err}
}

// SkipItem marks err as a per-message problem recorded with reason.
func SkipItem(reason string, err error) error { return classify(KindSkipItem, reason, err) }

// FailUser marks err as ending this user's sync with reason.
func FailUser(reason string, err error) error { return classify(KindFailUser, reason, err) }

// Fatal marks err as one that must stop the daemon.
func Fatal(err error) error { return classify(KindFatal, "", err) }

// KindOf returns the outermost classification of err; unclassified errors are
// retryable (maddy's rule: temporary unless proven permanent).
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	var ce *CapabilityError
	if errors.As(err, &ce) {
		return KindFailUser
	}
	return KindRetryable
}

// ReasonOf returns the first non-empty reason in err's chain, or "" (a bare
// *CapabilityError has ReasonImapCapabilityMissing).
func ReasonOf(err error) string {
	for err != nil {
		var e *Error
		if !errors.As(err, &e) {
			var ce *CapabilityError
			if errors.As(err, &ce) {
				return ReasonImapCapabilityMissing
			}
			return ""
		}
		if e.Reason != "" {
			return e.Reason
		}
		err = e.Err
	}
	return ""
}

// RetryAfterOf returns the largest RetryAfter in err's chain.
func RetryAfterOf(err error) time.Duration {
	var d time.Duration
	for err != nil {
		var e *Error
		if !errors.As(err, &e) {
			break
		}
		if e.RetryAfter > d {
			d = e.RetryAfter
		}
		err = e.Err
	}
	return d
}

// ActionError refuses an action that the object's status does not allow.
type ActionError struct {
	Object string // "batch" or "user"
	Name   string
	Status string
	Action string
	Hint   string
}

// Code is the operator-facing code.
func (e *ActionError) Code() string { return "InvalidStatusForAction" }

func (e *ActionError) Error() string {
	s := fmt.Sprintf("cannot %s %s %s: it is %s", e.Action, e.Object, e.Name, e.Status)
	if e.Hint != "" {
		s += "; " + e.Hint
	}
	return s
}

// CSVError rejects a batch whose CSV has bad rows (without
// SkipInvalidRows). The problems never quote a password.
type CSVError struct{ Problems []csvbatch.Problem }

// Code is the operator-facing code.
func (e *CSVError) Code() string { return "InvalidCsvRows" }

func (e *CSVError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "the CSV has %d bad row(s); fix them or create the batch with --skip-invalid-rows", len(e.Problems))
	for i, p := range e.Problems {
		if i == 20 {
			fmt.Fprintf(&b, "\n  … and %d more", len(e.Problems)-20)
			break
		}
		b.WriteString("\n  " + p.Error())
	}
	return b.String()
}

// RefError reports a batch naming an endpoint or tenant that does not exist.
type RefError struct{ Kind, Name string }

func (e *RefError) Error() string { return fmt.Sprintf("no %s named %q", e.Kind, e.Name) }

// ErrInvalidName rejects a batch name that cannot be used.
var ErrInvalidName = errors.New("batch name must be 1-64 letters, digits, '-', '_' or '.'")

// The state's lookup errors, for the engine's callers (the API, the CLI,
// the web console), which do not import the storage package.
var (
	// ErrNotFound: no batch, user, endpoint or tenant of that name.
	ErrNotFound = state.ErrNotFound
	// ErrExists: a batch of that name exists already.
	ErrExists = state.ErrExists
)

// DuplicateUserError: a user is in another batch already.
type DuplicateUserError = state.DuplicateUserError
