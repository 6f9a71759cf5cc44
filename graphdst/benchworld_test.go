package graphdst_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"github.com/imapmig/imapmig/graphdst"
	"github.com/imapmig/imapmig/imapsrc"
	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/migrate/model"
	"github.com/imapmig/imapmig/state"
	"github.com/imapmig/imapmig/state/statetest"
	"github.com/imapmig/imapmig/testenv/graphemu"
	"github.com/imapmig/imapmig/testenv/mailgen"
	"github.com/imapmig/imapmig/testenv/memimap"
)

// benchWorld is one mailbox's whole path for the Graph-slot and budget
// benchmarks: go-imap's in-memory server seeded with a generated mailbox,
// read through imapsrc, migrated by the engine through graphdst into the
// emulator (throttling on, with the options given).
type benchWorld struct {
	emu   *graphemu.Server
	eng   *migrate.Engine
	st    *state.Store
	addr  string
	login migrate.Login
}

// newBenchWorld seeds mb and starts an engine; budget nil is graphdst's
// default (Exchange's limits with its margin), scaled like the emulator.
func newBenchWorld(b *testing.B, mb *mailgen.Mailbox, emuOpts graphemu.Options) *benchWorld {
	b.Helper()
	const addr = "bench@contoso.test"
	srv := memimap.Start(b, memimap.Options{})
	login := migrate.Login{UserName: "bench", Password: "pw-bench"}
	u := imapmemserver.NewUser(login.UserName, login.Password)
	if err := u.Create("INBOX", nil); err != nil {
		b.Fatal(err)
	}
	if err := mailgen.SeedMemServer(u, mb); err != nil {
		b.Fatal(err)
	}
	srv.Mem.AddUser(u)

	emuOpts.Mailboxes = []string{addr}
	budget := graphdst.DefaultBudget().Scaled(emuOpts.TimeScale)
	f := start(b, emuOpts, &budget, func(c *graphdst.Config) { c.Logger = slog.New(slog.DiscardHandler) })
	emu, tgt := f.emu, f.target
	conn, err := imapsrc.New(imapsrc.Config{Host: srv.Host, Port: srv.Port, Security: imapsrc.SecurityNone, SpoolDir: b.TempDir(),
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	st := statetest.MustOpen(b)
	statetest.PutEndpoint(b, st, srv.Host, 4)
	eng := migrate.New(migrate.Options{
		Store: st, Logger: slog.New(slog.DiscardHandler),
		Sources:      func(context.Context, state.Endpoint) (migrate.SourceConnector, error) { return conn, nil },
		Targets:      func(context.Context, state.Tenant) (migrate.Target, error) { return tgt, nil },
		RetryBackoff: 10 * time.Millisecond, UserRetryBackoff: 50 * time.Millisecond,
		ScanInterval: 20 * time.Millisecond, MinScanGap: time.Millisecond,
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- eng.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
	return &benchWorld{emu: emu, eng: eng, st: st, addr: addr, login: login}
}

// start creates the batch of the one user and starts its initial sync.
func (w *benchWorld) start(b *testing.B) {
	b.Helper()
	csv := fmt.Sprintf("EmailAddress,UserName,Password\n%s,%s,%s\n", w.addr, w.login.UserName, w.login.Password)
	if _, err := w.eng.CreateBatch(context.Background(), migrate.BatchSpec{Name: "bench", Endpoint: "ep", Tenant: "tn", Autostart: true,
		CSV: []byte(csv), Options: state.BatchOptions{MigrateDeletedItems: true, SyncInterval: time.Hour}}); err != nil {
		b.Fatal(err)
	}
}

// synced says whether the user's initial sync has ended (it fails the
// benchmark when the user failed).
func (w *benchWorld) synced(b *testing.B) bool {
	u, err := w.st.User(w.addr)
	if err != nil {
		b.Fatal(err)
	}
	if u.Status == model.UserFailed {
		b.Fatalf("initial sync failed: %s", u.LastError)
	}
	return u.Status == model.UserSynced && !w.eng.Running(w.addr)
}

// migrate runs the initial sync and waits (polling, generous deadline) for
// the user to be Synced.
func (w *benchWorld) migrate(b *testing.B, deadline time.Duration) state.User {
	b.Helper()
	w.start(b)
	end := time.Now().Add(deadline)
	for {
		u, err := w.st.User(w.addr)
		if err != nil {
			b.Fatal(err)
		}
		if u.Status == model.UserSynced && !w.eng.Running(w.addr) {
			return u
		}
		if u.Status == model.UserFailed || time.Now().After(end) {
			b.Fatalf("initial sync: user is %s: %s", u.Status, u.LastError)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
