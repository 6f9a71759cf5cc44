package imapsrc_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/imapmig/imapmig/imapsrc"
	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/migrate/sourcetest"
	"github.com/imapmig/imapmig/testenv/mailgen"
)

// readAll is a Body's bytes.
func readAll(t *testing.T, b migrate.Body) []byte {
	t.Helper()
	r, err := b.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	raw, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// FetchBodies delivers each asked body once, byte for byte, in ascending
// UID order, in one command; an expunged UID and one never used are not
// delivered (the caller fetches those with Fetch, which says why); a body
// over the memory spool limit is spooled like Fetch spools it.
func TestFetchBodies_EachOnceInUIDOrderMissingLeftOut(t *testing.T) {
	srv, u := dovecotUser(t)
	ctx := context.Background()
	var msgs []mailgen.Message
	for i := range 6 {
		raw := sourcetest.Message(fmt.Sprintf("batch %d", i), "")
		if i == 3 {
			raw = bigMessage("batch big", 300_000)
		}
		msgs = append(msgs, mailgen.Message{Raw: raw, InternalDate: time.Date(2024, 1, 1+i, 0, 0, 0, 0, time.UTC)})
	}
	uids, err := srv.Append(ctx, u.Name, "INBOX", msgs...)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Expunge(ctx, u.Name, "INBOX", uids[1]); err != nil {
		t.Fatal(err)
	}
	s := connectUser(t, newConnector(t, dovecotConfig(srv, imapsrc.SecuritySSL)), u)
	bb, ok := s.(migrate.BodyBatcher)
	if !ok {
		t.Fatal("imapsrc's Source is not a BodyBatcher")
	}
	inbox := folderOf(t, s, "INBOX")
	raw := map[uint32][]byte{}
	for i, uid := range uids {
		raw[uid] = msgs[i].Raw
	}
	// Asked newest first, with a UID never used.
	ask := []uint32{uids[5] + 100, uids[5], uids[4], uids[3], uids[2], uids[1], uids[0]}
	var got []uint32
	err = bb.FetchBodies(ctx, inbox, ask, func(uid uint32, b migrate.Body) error {
		defer b.Close()
		got = append(got, uid)
		if body := readAll(t, b); !bytes.Equal(body, raw[uid]) {
			t.Errorf("UID %d: %d bytes, want %d of the message", uid, len(body), len(raw[uid]))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("FetchBodies: %v", err)
	}
	want := []uint32{uids[0], uids[2], uids[3], uids[4], uids[5]}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("delivered %v, want %v (each once, ascending, the expunged and the unknown left out)", got, want)
	}
	// The source goes on as before: Fetch says why one is missing.
	if _, err := s.Fetch(ctx, inbox, uids[1]); err == nil || !errors.Is(err, migrate.ErrMessageGone) {
		t.Errorf("Fetch of the expunged UID: %v, want ErrMessageGone", err)
	}
}

// A connection lost in the middle of a FetchBodies is reconnected and the
// bodies not yet delivered are asked for again: every body once.
func TestFetchBodies_KickedMidwayDeliversTheRestOnce(t *testing.T) {
	srv, u := dovecotUser(t)
	ctx := context.Background()
	var msgs []mailgen.Message
	for i := range 8 {
		// 24 MB in all: more than the socket buffers hold, so the kick
		// lands before the server has sent them all.
		msgs = append(msgs, mailgen.Message{Raw: bigMessage(fmt.Sprintf("kick %d", i), 3_000_000), InternalDate: time.Date(2024, 1, 1+i, 0, 0, 0, 0, time.UTC)})
	}
	uids, err := srv.Append(ctx, u.Name, "INBOX", msgs...)
	if err != nil {
		t.Fatal(err)
	}
	s := connectUser(t, newConnector(t, dovecotConfig(srv, imapsrc.SecuritySSL)), u)
	inbox := folderOf(t, s, "INBOX")
	seen := map[uint32]int{}
	err = s.(migrate.BodyBatcher).FetchBodies(ctx, inbox, uids, func(uid uint32, b migrate.Body) error {
		b.Close()
		seen[uid]++
		if len(seen) == 2 && seen[uid] == 1 {
			if err := srv.Kick(ctx, u.Name); err != nil {
				t.Fatal(err)
			}
			waitNoSession(t, srv, u.Name)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("FetchBodies across a kick: %v", err)
	}
	for _, uid := range uids {
		if seen[uid] != 1 {
			t.Errorf("UID %d delivered %d times, want once", uid, seen[uid])
		}
	}
	if n := imapsrc.Reconnects(s); n < 1 {
		t.Errorf("Reconnects = %d, want ≥ 1: the kick did not cut the command", n)
	}
}
