package sourcetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/imapmig/imapmig/migrate"
)

// Server is the IMAP server under test.
type Server interface {
	// NewUser creates a fresh, empty mailbox and returns its login as the
	// Connector must use it.
	NewUser(t testing.TB) migrate.Login
	// Admin returns a logged-in IMAP session on login's mailbox for seeding.
	// Run logs it out.
	Admin(t testing.TB, login migrate.Login) *imapclient.Client
}

// Options configure Run.
type Options struct {
	Connector migrate.SourceConnector
	// Server is a real IMAP server; Backend, when Server is nil, is any
	// other backend (the engine's fake).
	Server  Server
	Backend Backend
	// CondStore: the server has CONDSTORE, so folders report HIGHESTMODSEQ,
	// metas their MODSEQ, and ChangedSince(modseq) reports exactly the
	// changed messages; otherwise HighestModSeq and ModSeq are 0 and
	// ChangedSince reports every message.
	CondStore bool
	// SpecialUse: the server marks its Sent folder (named "Sent") \Sent.
	SpecialUse bool
}

// Run runs the suite.
func Run(t *testing.T, opts Options) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, e *env)
	}{
		{"Folders_Seeded", testFoldersSeeded},
		{"Folders_SpecialUse", testFoldersSpecialUse},
		{"Folders_StatusEach", testFoldersStatusEach},
		{"Metas_Fields", testMetasFields},
		{"Metas_Range", testMetasRange},
		{"Metas_Duplicates", testMetasDuplicates},
		{"Metas_CallbackError", testMetasCallbackError},
		{"UIDs_AfterExpunge", testUIDsAfterExpunge},
		{"Fetch_RoundTrip", testFetchRoundTrip},
		{"Fetch_Expunged", testFetchExpunged},
		{"ChangedSince", testChangedSince},
		{"ChangedSince_FlagsRemoved", testChangedSinceRemoved},
		{"MoveByCopyExpunge", testMoveByCopyExpunge},
		{"Folder_Renamed", testFolderRenamed},
		{"Folder_Gone", testFolderGone},
		{"UIDValidity_Reset", testUIDValidityReset},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, opts)
			tc.fn(t, e)
		})
	}
}

type env struct {
	opts  Options
	login migrate.Login
	seed  Seeder
	delim rune
	src   migrate.Source
	ctx   context.Context
}

func (o Options) backend() Backend {
	if o.Server != nil {
		return IMAPBackend(o.Server)
	}
	return o.Backend
}

func newEnv(t *testing.T, opts Options) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	e := &env{opts: opts, ctx: ctx}
	b := opts.backend()
	e.login = b.NewUser(t)
	e.seed = b.Seeder(t, e.login)
	t.Cleanup(e.seed.Close)
	e.delim = e.seed.Delim()
	src, err := opts.Connector.Connect(ctx, e.login)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	e.src = src
	t.Cleanup(func() {
		if err := src.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return e
}

// name is the server name of a folder path below the personal namespace.
func (e *env) name(path ...string) string {
	if len(path) == 1 && strings.EqualFold(path[0], "INBOX") {
		return "INBOX"
	}
	return e.seed.Prefix() + strings.Join(path, string(e.delim))
}

// Message builds a CRLF message whose header is unique per subject.
func Message(subject string, body string) []byte {
	return []byte("From: Alice <alice@example.org>\r\nTo: bob@example.org\r\nSubject: " + subject +
		"\r\nDate: Mon, 02 Jan 2006 15:04:05 +0000\r\nMessage-ID: <" + strings.ReplaceAll(subject, " ", ".") +
		"@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n")
}

func (e *env) create(t *testing.T, path ...string) { t.Helper(); e.seed.Create(t, e.name(path...)) }

func (e *env) append(t *testing.T, folder string, raw []byte, flags []string, date time.Time) uint32 {
	t.Helper()
	return e.seed.Append(t, e.name(folder), raw, flags, date)
}

func (e *env) expunge(t *testing.T, folder string, uids ...uint32) {
	t.Helper()
	e.seed.Expunge(t, e.name(folder), uids...)
}

func (e *env) folders(t *testing.T) []migrate.Folder {
	t.Helper()
	fs, err := e.src.Folders(e.ctx)
	if err != nil {
		t.Fatalf("Folders: %v", err)
	}
	return fs
}

func (e *env) folder(t *testing.T, path ...string) migrate.Folder {
	t.Helper()
	fs := e.folders(t)
	for _, f := range fs {
		if slices.Equal(f.Path, path) {
			return f
		}
	}
	var got []string
	for _, f := range fs {
		got = append(got, fmt.Sprintf("%q", f.Path))
	}
	t.Fatalf("folder %q not listed; got %s", path, strings.Join(got, " "))
	return migrate.Folder{}
}

func (e *env) metas(t *testing.T, f migrate.Folder, from, to uint32) []migrate.MessageMeta {
	t.Helper()
	var out []migrate.MessageMeta
	if err := e.src.Metas(e.ctx, f, from, to, func(m migrate.MessageMeta) error {
		out = append(out, m)
		return nil
	}); err != nil {
		t.Fatalf("Metas(%q, %d, %d): %v", f.Name, from, to, err)
	}
	return out
}

func uidsOf(ms []migrate.MessageMeta) []uint32 {
	out := make([]uint32, len(ms))
	for i, m := range ms {
		out[i] = m.UID
	}
	return out
}

func (e *env) changed(t *testing.T, f migrate.Folder, modseq uint64) []migrate.MessageMeta {
	t.Helper()
	var got []migrate.MessageMeta
	if err := e.src.ChangedSince(e.ctx, f, modseq, func(m migrate.MessageMeta) error {
		got = append(got, m)
		return nil
	}); err != nil {
		t.Fatalf("ChangedSince(%q, %d): %v", f.Name, modseq, err)
	}
	if !slices.IsSortedFunc(got, func(a, b migrate.MessageMeta) int { return int(a.UID) - int(b.UID) }) {
		t.Errorf("ChangedSince(%q, %d): UIDs not in order: %v", f.Name, modseq, uidsOf(got))
	}
	return got
}

func flagsOf(ms []migrate.MessageMeta, uid uint32) []string {
	for _, m := range ms {
		if m.UID == uid {
			return lowerSorted(m.Flags)
		}
	}
	return nil
}
