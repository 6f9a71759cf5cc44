package migrate_test

// An in-memory fake IMAP server for unit tests of the engine's logic (the
// target side is migrate/memtarget). The real adapters are tested against
// Dovecot and the Graph emulator; these only make the engine's decisions
// fast to check.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/imapmig/imapmig/migrate"
)

type fmsg struct {
	uid    uint32
	flags  []string
	date   time.Time
	raw    []byte
	modseq uint64
}

type ffolder struct {
	name        string
	special     string
	uidValidity uint32
	uidNext     uint32
	modseq      uint64
	msgs        []*fmsg
}

type fakeServer struct {
	mu      sync.Mutex
	folders map[string]*ffolder
	// noCond: a server without CONDSTORE (HighestModSeq and ModSeq 0,
	// ChangedSince reports every message).
	noCond bool
	// refuseCondStore: a third-party Source that answers ChangedSince with
	// modseq > 0 with ErrNoCondStore; refuseAll also refuses modseq 0.
	refuseCondStore, refuseAll bool
	nextValidity               uint32
	password                   string
	fetches                    int
	failNext                   error // returned once by the next Fetch
	active                     int   // open sessions
	peak                       int   // most sessions open at once
	hold                       chan struct{}
	// fetchHold, when set, blocks every Fetch until it is closed (a source
	// that stopped answering).
	fetchHold chan struct{}
	// onFetch, when set, runs at the start of every Fetch with the
	// caller's context (a test's crash or stop point).
	onFetch func(ctx context.Context, folder string, uid uint32)
}

// rename renames a folder, keeping its UIDVALIDITY and UIDs (IMAP RENAME).
func (s *fakeServer) rename(from, to string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.folders[from]
	delete(s.folders, from)
	f.name = to
	s.folders[to] = f
}

func newFakeServer() *fakeServer {
	s := &fakeServer{folders: map[string]*ffolder{}, password: "pw"}
	s.addFolder("INBOX", "")
	return s
}

func (s *fakeServer) addFolder(name, special string) *ffolder {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextValidity++
	f := &ffolder{name: name, special: special, uidValidity: s.nextValidity + 100, uidNext: 1, modseq: 1}
	s.folders[name] = f
	return f
}

// recreate deletes and recreates a folder with the same messages and a new
// UIDVALIDITY.
func (s *fakeServer) recreate(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.folders[name]
	f.uidValidity += 1000
	for i, m := range f.msgs {
		m.uid = uint32(i + 1)
	}
	f.uidNext = uint32(len(f.msgs) + 1)
	f.modseq++
}

func rawMsg(subject string, size int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: a@example.org\r\nTo: b@example.org\r\nSubject: %s\r\nMessage-ID: <%s@example.org>\r\n\r\n", subject, strings.ReplaceAll(subject, " ", "."))
	for b.Len() < size {
		b.WriteString("body line\r\n")
	}
	return b.Bytes()
}

func (s *fakeServer) append(folder string, raw []byte, date time.Time, flags ...string) uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.folders[folder]
	f.modseq++
	m := &fmsg{uid: f.uidNext, flags: flags, date: date, raw: raw, modseq: f.modseq}
	f.uidNext++
	f.msgs = append(f.msgs, m)
	return m.uid
}

func (s *fakeServer) setFlags(folder string, uid uint32, flags ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.folders[folder]
	for _, m := range f.msgs {
		if m.uid == uid {
			f.modseq++
			m.flags, m.modseq = flags, f.modseq
		}
	}
}

func (s *fakeServer) expunge(folder string, uid uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.folders[folder]
	f.msgs = slices.DeleteFunc(f.msgs, func(m *fmsg) bool { return m.uid == uid })
	f.modseq++
}

// move is IMAP MOVE: a new UID in the destination, expunge in the source.
func (s *fakeServer) move(from string, uid uint32, to string) uint32 {
	s.mu.Lock()
	src := s.folders[from]
	var m *fmsg
	for _, x := range src.msgs {
		if x.uid == uid {
			m = x
		}
	}
	s.mu.Unlock()
	nu := s.append(to, m.raw, m.date, m.flags...)
	s.expunge(from, uid)
	return nu
}

func (s *fakeServer) Connect(ctx context.Context, l migrate.Login) (migrate.Source, error) {
	if l.Password != s.password {
		return nil, migrate.FailUser(migrate.ReasonImapAuthenticationFailed, fmt.Errorf("%w: [AUTHENTICATIONFAILED] Authentication failed.", migrate.ErrAuthFailed))
	}
	s.mu.Lock()
	s.active++
	s.peak = max(s.peak, s.active)
	hold := s.hold
	s.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
		}
	}
	return &fakeSource{s: s}, nil
}

type fakeSource struct{ s *fakeServer }

func (f *fakeSource) Folders(ctx context.Context) ([]migrate.Folder, error) {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	var out []migrate.Folder
	for _, fo := range f.s.folders {
		hms := fo.modseq
		if f.s.noCond {
			hms = 0
		}
		out = append(out, migrate.Folder{Path: strings.Split(fo.name, "/"), Name: fo.name, Delimiter: '/', SpecialUse: fo.special,
			UIDValidity: fo.uidValidity, UIDNext: fo.uidNext, Messages: uint32(len(fo.msgs)), HighestModSeq: hms})
	}
	slices.SortFunc(out, func(a, b migrate.Folder) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// folder finds fo as listed, with the errors imapsrc gives (the contract
// of migrate.Source).
func (f *fakeSource) folder(fo migrate.Folder) (*ffolder, error) {
	x, ok := f.s.folders[fo.Name]
	if !ok {
		return nil, fmt.Errorf("fake folder %q: %w", fo.Name, migrate.ErrFolderGone)
	}
	if fo.UIDValidity != 0 && fo.UIDValidity != x.uidValidity {
		return nil, fmt.Errorf("fake folder %q: %w", fo.Name, migrate.ErrUIDValidityChanged)
	}
	return x, nil
}

// fakeFlags drops \Recent as imapsrc does.
func fakeFlags(fl []string) []string {
	return slices.DeleteFunc(slices.Clone(fl), func(f string) bool { return strings.EqualFold(f, `\Recent`) })
}

// subjectDate decodes Subject and Date like imapsrc (RFC 2047 words).
func subjectDate(hdr []byte) (string, time.Time) {
	m, err := mail.ReadMessage(bytes.NewReader(append(slices.Clone(hdr), '\r', '\n')))
	if err != nil {
		return "", time.Time{}
	}
	subj := m.Header.Get("Subject")
	if d, err := new(mime.WordDecoder).DecodeHeader(subj); err == nil {
		subj = d
	}
	date, _ := m.Header.Date()
	return subj, date
}

func (f *fakeSource) Metas(ctx context.Context, fo migrate.Folder, from, to uint32, fn func(migrate.MessageMeta) error) error {
	f.s.mu.Lock()
	x, err := f.folder(fo)
	var metas []migrate.MessageMeta
	if err == nil {
		for _, m := range x.msgs {
			if m.uid < from || to != 0 && m.uid > to {
				continue
			}
			hdr := migrate.HeaderBlock(m.raw)
			subj, date := subjectDate(hdr)
			modseq := m.modseq
			if f.s.noCond {
				modseq = 0
			}
			metas = append(metas, migrate.MessageMeta{UID: m.uid, Flags: fakeFlags(m.flags), InternalDate: m.date, Size: int64(len(m.raw)),
				ModSeq: modseq, HeaderHash: migrate.HeaderHash(hdr), Subject: subj, Date: date})
		}
	}
	f.s.mu.Unlock()
	return emit(metas, err, fn)
}

// emit hands metas to fn, read under the lock with err, once the lock is
// released.
func emit(metas []migrate.MessageMeta, err error, fn func(migrate.MessageMeta) error) error {
	if err != nil {
		return err
	}
	for _, m := range metas {
		if err := fn(m); err != nil {
			return err
		}
	}
	return nil
}

// ChangedSince follows the contract of migrate.Source: exactly the changed
// messages with mod-sequences and modseq > 0, every message otherwise.
func (f *fakeSource) ChangedSince(ctx context.Context, fo migrate.Folder, modseq uint64, fn func(migrate.MessageMeta) error) error {
	if f.s.refuseAll || f.s.refuseCondStore && modseq > 0 {
		return migrate.ErrNoCondStore
	}
	f.s.mu.Lock()
	x, err := f.folder(fo)
	var metas []migrate.MessageMeta
	if err == nil {
		for _, m := range x.msgs {
			switch {
			case f.s.noCond:
				metas = append(metas, migrate.MessageMeta{UID: m.uid, Flags: fakeFlags(m.flags)})
			case m.modseq > modseq:
				metas = append(metas, migrate.MessageMeta{UID: m.uid, Flags: fakeFlags(m.flags), ModSeq: m.modseq})
			}
		}
	}
	f.s.mu.Unlock()
	return emit(metas, err, fn)
}

func (f *fakeSource) UIDs(ctx context.Context, fo migrate.Folder) ([]uint32, error) {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	x, err := f.folder(fo)
	if err != nil {
		return nil, err
	}
	var out []uint32
	for _, m := range x.msgs {
		out = append(out, m.uid)
	}
	return out, nil
}

type memBody struct{ b []byte }

func (m memBody) Open() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(m.b)), nil }
func (m memBody) Size() int64                  { return int64(len(m.b)) }
func (m memBody) Close() error                 { return nil }

func (f *fakeSource) Fetch(ctx context.Context, fo migrate.Folder, uid uint32) (migrate.Body, error) {
	f.s.mu.Lock()
	hold, onFetch := f.s.fetchHold, f.s.onFetch
	f.s.mu.Unlock()
	if onFetch != nil {
		onFetch(ctx, fo.Name, uid)
	}
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	f.s.fetches++
	if err := f.s.failNext; err != nil {
		f.s.failNext = nil
		return nil, err
	}
	x, err := f.folder(fo)
	if err != nil {
		return nil, err
	}
	for _, m := range x.msgs {
		if m.uid == uid {
			if bytes.Contains(m.raw, []byte("MALFORMED")) {
				return nil, migrate.SkipItem(migrate.ReasonMalformedMessage, fmt.Errorf("cannot parse"))
			}
			return memBody{m.raw}, nil
		}
	}
	return nil, migrate.SkipItem("SourceMessageGone", fmt.Errorf("uid %d: %w", uid, migrate.ErrMessageGone))
}

func (f *fakeSource) Close() error {
	f.s.mu.Lock()
	f.s.active--
	f.s.mu.Unlock()
	return nil
}

// FetchBodies makes the fake a migrate.BodyBatcher, so the engine's suites
// run its batched fetches: each UID in ascending order through Fetch (its
// hooks included), a gone or unreadable message left out for the engine's
// own Fetch, any other error returned.
func (f *fakeSource) FetchBodies(ctx context.Context, fo migrate.Folder, uids []uint32, fn func(uint32, migrate.Body) error) error {
	for _, uid := range slices.Sorted(slices.Values(uids)) {
		b, err := f.Fetch(ctx, fo, uid)
		if migrate.KindOf(err) == migrate.KindSkipItem {
			continue
		}
		if err != nil {
			return err
		}
		if err := fn(uid, b); err != nil {
			return err
		}
	}
	return nil
}
