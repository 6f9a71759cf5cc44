package interop_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/imapmig/imapmig/graphdst"
	"github.com/imapmig/imapmig/imapsrc"
	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/migrate/model"
	"github.com/imapmig/imapmig/state"
	"github.com/imapmig/imapmig/state/statetest"
	"github.com/imapmig/imapmig/testenv/graphemu"
)

const (
	tenantID = "0f0e0d0c-0b0a-0908-0706-050403020100"
	clientID = "imapmig-interop"
	secret   = "interop-secret-value"
)

// world is the engine over imapsrc (through imapwire) into the Graph
// emulator through graphdst, for one user.
type world struct {
	t      *testing.T
	st     *state.Store
	emu    *graphemu.Server
	tgt    *graphdst.Target
	src    *imapsrc.Connector
	eng    *migrate.Engine
	cancel context.CancelFunc
	done   chan error
	addr   string
}

func newWorld(t *testing.T, src *imapsrc.Connector, addr string) *world {
	t.Helper()
	emu := graphemu.StartForTest(t, graphemu.Options{Tenant: tenantID, Clients: map[string]string{clientID: secret},
		Mailboxes: []string{addr}, DisableThrottling: true})
	w := &world{t: t, st: statetest.MustOpen(t), emu: emu, src: src, addr: addr}
	w.tgt = w.newTarget()
	if err := w.st.PutEndpoint(state.Endpoint{Name: "ep", Host: "x", MaxConcurrentMigrations: 4, MaxConcurrentIncrementalSyncs: 4}); err != nil {
		t.Fatal(err)
	}
	if err := w.st.PutTenant(state.Tenant{Name: "tn"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.stop)
	return w
}

func (w *world) newTarget() *graphdst.Target {
	tg, err := graphdst.New(context.Background(), graphdst.Config{TenantID: tenantID, ClientID: clientID, ClientSecret: secret,
		AuthorityHost: w.emu.AuthorityHost(), GraphURL: w.emu.GraphURL(), HTTPClient: w.emu.Client(),
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		w.t.Fatal(err)
	}
	return tg
}

// start runs an engine (a new one after stop: a restart of the daemon).
func (w *world) start() {
	w.eng = migrate.New(migrate.Options{
		Store:            w.st,
		Sources:          func(context.Context, state.Endpoint) (migrate.SourceConnector, error) { return w.src, nil },
		Targets:          func(context.Context, state.Tenant) (migrate.Target, error) { return w.tgt, nil },
		RetryBackoff:     10 * time.Millisecond,
		UserRetryBackoff: 50 * time.Millisecond,
		ScanInterval:     20 * time.Millisecond,
		MinScanGap:       time.Millisecond,
		Logger:           slog.New(slog.DiscardHandler),
	})
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel, w.done = cancel, make(chan error, 1)
	go func() { w.done <- w.eng.Run(ctx) }()
}

func (w *world) stop() {
	if w.cancel != nil {
		w.cancel()
		<-w.done
		w.cancel = nil
	}
}

// migrate creates the batch for login and waits for the initial sync.
func (w *world) migrate(user, password string) state.User {
	w.t.Helper()
	csv := fmt.Sprintf("EmailAddress,UserName,Password\n%s,%s,%s\n", w.addr, user, password)
	if _, err := w.eng.CreateBatch(context.Background(), migrate.BatchSpec{Name: "mx", Endpoint: "ep", Tenant: "tn", Autostart: true,
		CSV: []byte(csv), Options: state.BatchOptions{MigrateDeletedItems: true, SyncInterval: time.Hour}}); err != nil {
		w.t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		u, err := w.st.User(w.addr)
		if err != nil {
			w.t.Fatal(err)
		}
		if u.Status == model.UserSynced && !w.eng.Running(w.addr) {
			return u
		}
		if u.Status == model.UserFailed || u.Failures > 0 || time.Now().After(deadline) {
			w.t.Fatalf("initial sync: user is %s: %s", u.Status, u.LastError)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// syncNow runs one incremental pass and waits for it to succeed.
func (w *world) syncNow() state.User {
	w.t.Helper()
	before, err := w.st.User(w.addr)
	if err != nil {
		w.t.Fatal(err)
	}
	if err := w.eng.SyncNowUser(context.Background(), w.addr); err != nil {
		w.t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		u, _ := w.st.User(w.addr)
		if u.LastSuccessfulSyncTime.After(before.LastSuccessfulSyncTime) && u.Status == model.UserSynced && !w.eng.Running(w.addr) {
			return u
		}
		if u.Failures > before.Failures || time.Now().After(deadline) {
			w.t.Fatalf("incremental pass did not succeed: %s, %d failed passes, last error %q", u.Status, u.Failures, u.LastError)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
