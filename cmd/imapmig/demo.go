package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/spf13/cobra"

	"github.com/imapmig/imapmig/csvbatch"
	"github.com/imapmig/imapmig/graphdst"
	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/migrate/bytesize"
	"github.com/imapmig/imapmig/migrate/config"
	"github.com/imapmig/imapmig/migrate/model"
	"github.com/imapmig/imapmig/testenv/dovecot"
	"github.com/imapmig/imapmig/testenv/graphemu"
	"github.com/imapmig/imapmig/testenv/mailgen"
)

func demoCmd() *cobra.Command {
	var o demoOptions
	c := &cobra.Command{
		Use:   "demo",
		Short: "run everything locally (IMAP server, Graph emulator, daemon) with generated mail",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return runDemo(c.Context(), o, c.OutOrStdout())
		},
	}
	f := c.Flags()
	f.IntVar(&o.users, "users", 20, "number of users (1-1000)")
	f.IntVar(&o.messages, "messages", 40, "ordinary messages per user")
	f.IntVar(&o.large, "large", 0, "1-10 MB messages per user")
	f.BoolVar(&o.dovecot, "dovecot", false, "use a real Dovecot (must be installed)")
	f.BoolVar(&o.throttle, "throttle", false, "throttle Graph like Exchange Online (windows 60x shorter)")
	f.StringVar(&o.keep, "keep", "", "keep the data directory here")
	return c
}

type demoOptions struct {
	users, messages, large int
	dovecot, throttle      bool
	keep                   string
}

// runDemo runs the whole product on one machine with nothing installed: an
// IMAP server seeded with generated mailboxes, the Graph emulator, and the
// daemon, then migrates a batch and prints a summary.
func runDemo(ctx context.Context, o demoOptions, stdout io.Writer) error {
	if o.users < 1 || o.users > 1000 {
		return errors.New("demo: --users must be 1-1000")
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	dir, log, cleanup, err := demoDir(o.keep)
	if err != nil {
		return err
	}
	defer cleanup()

	addrs := make([]string, o.users)
	for i := range addrs {
		addrs[i] = fmt.Sprintf("user%02d@contoso.example", i+1)
	}
	fmt.Fprintf(stdout, "imapmig demo: %d users, %d messages each (+ special cases), data in %s\n", o.users, o.messages, dir)
	if !o.dovecot {
		fmt.Fprintln(stdout, "(the in-memory IMAP server cannot serve the malformed sample message, so it is left out; --dovecot includes it)")
	}

	// The Graph side.
	emuOpts := graphemu.Options{Mailboxes: addrs, DisableThrottling: !o.throttle, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if o.throttle {
		emuOpts.TimeScale = 60
	}
	emu, err := graphemu.New(emuOpts)
	if err != nil {
		return err
	}
	if err := emu.Start(); err != nil {
		return err
	}
	defer emu.Close()

	// The IMAP side.
	start := time.Now()
	src, err := startDemoSource(ctx, o, addrs)
	defer src.close()
	if err != nil {
		return err
	}
	ep, roots := src.ep, src.roots
	fmt.Fprintf(stdout, "source ready: %d messages, %s (%s)\n", src.messages, bytesize.Format(src.bytes), time.Since(start).Round(time.Millisecond))

	const secretEnv = "IMAPMIG_DEMO_CLIENT_SECRET"
	os.Setenv(secretEnv, "demo-secret")
	tenant := config.Tenant{Name: "demo-tenant", TenantID: "demo-tenant-id", ClientID: "demo-client", ClientSecretEnv: secretEnv,
		AuthorityHost: emu.AuthorityHost(), GraphURL: emu.GraphURL()}
	cfg := &config.Config{
		DataDir: dir, Listen: "127.0.0.1:0", LogLevel: "info",
		MaxMessageBytes: config.DefaultMaxMessageBytes, MaxMailboxItems: config.DefaultMaxMailboxItems,
		Endpoints: []config.Endpoint{{Name: ep.Name, Host: ep.Host, Port: ep.Port, Security: ep.Security, Auth: ep.Auth,
			MaxConcurrentMigrations: 20, MaxConcurrentIncrementalSyncs: 10}},
		Tenants: []config.Tenant{tenant},
	}
	spool := filepath.Join(dir, "spool")
	w := &wiring{
		sources: func(ctx context.Context, e model.Endpoint) (migrate.SourceConnector, error) {
			return newSource(e, spool, roots, log)
		},
		targets: func(ctx context.Context, t model.Tenant) (migrate.Target, error) {
			return newTarget(ctx, tenant, emu.CertPool(), log, nil, 0)
		},
	}
	d, err := startDaemon(ctx, cfg, log, w)
	if err != nil {
		return err
	}
	defer d.Close()
	fmt.Fprintf(stdout, "daemon API on http://%s (token in %s)\n", d.addr, filepath.Join(dir, "api.token"))

	begin := time.Now()
	if _, err := d.engine.CreateBatch(ctx, migrate.BatchSpec{Name: "demo", Endpoint: ep.Name, Tenant: tenant.Name,
		CSV: []byte(src.csv.String()), Autostart: true,
		Options: model.BatchOptions{MigrateDeletedItems: true, SyncInterval: 24 * time.Hour}}); err != nil {
		return err
	}
	if err := watchLoop(ctx, stdout, 500*time.Millisecond, false, engineWatch(d.engine, "demo")); err != nil {
		return err
	}
	v, err := d.engine.Batch("demo")
	if err != nil {
		return err
	}
	elapsed := time.Since(begin)
	sumErr := demoSummary(d.engine, emu, addrs, v, elapsed, stdout)
	if o.keep == "" {
		fmt.Fprintln(stdout, "\nThe demo's data is removed now; run it with --keep DIR to keep it and look at it afterwards.")
		return sumErr
	}
	if err := printKept(stdout, dir, ep, tenant); err != nil {
		return err
	}
	return sumErr
}

// demoDir makes the demo's data directory (keep, or a temporary one that
// cleanup removes) and its log.
func demoDir(keep string) (dir string, log *slog.Logger, cleanup func(), err error) {
	var closers []func()
	cleanup = func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	dir = keep
	if dir == "" {
		d, err := os.MkdirTemp("", "imapmig-demo-")
		if err != nil {
			return "", nil, cleanup, err
		}
		closers = append(closers, func() { os.RemoveAll(d) })
		dir = d
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", nil, cleanup, err
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	logFile, err := os.OpenFile(filepath.Join(dir, "imapmig.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return "", nil, cleanup, err
	}
	closers = append(closers, func() { logFile.Close() })
	return dir, slog.New(slog.NewTextHandler(logFile, &slog.HandlerOptions{Level: slog.LevelInfo})), cleanup, nil
}

// printKept writes the kept data's config and says how to look at it.
func printKept(stdout io.Writer, dir string, ep model.Endpoint, tenant config.Tenant) error {
	cfgPath, err := writeKeptConfig(dir, ep, tenant)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, `
The daemon's data is kept in %[1]s. To look at it (the demo's IMAP server
and Graph emulator are gone, so nothing syncs):
  imapmig serve --config %[2]s &
  export IMAPMIG_CONFIG=%[2]s
  imapmig batch get demo
  imapmig user list --batch demo
  imapmig user skipped user01@contoso.example
  imapmig batch events demo
`, dir, cfgPath)
	return nil
}

// demoSource is the demo's IMAP side: a seeded server, its endpoint, the
// batch's CSV and what it holds.
type demoSource struct {
	ep              model.Endpoint
	roots           *x509.CertPool // the server's CA (Dovecot), nil for plain IMAP
	csv             strings.Builder
	messages, bytes int64
	closers         []func()
}

// close stops the server.
func (s *demoSource) close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
}

// startDemoSource starts Dovecot (--dovecot) or go-imap's in-memory server
// and seeds one generated mailbox per address. The caller closes it, also
// after an error.
func startDemoSource(ctx context.Context, o demoOptions, addrs []string) (*demoSource, error) {
	src := &demoSource{}
	src.csv.WriteString("EmailAddress,UserName,Password\n")
	gen := func(i int) *mailgen.Mailbox {
		mb := mailgen.Generate(mailgen.Options{Seed: uint64(i + 1), Messages: o.messages, Large: o.large})
		if !o.dovecot {
			// go-imap's in-memory server answers BODY[] of a message whose
			// header it cannot parse with an empty literal: the generated
			// malformed sample would arrive empty and be skipped. Real
			// servers return the bytes (with --dovecot it migrates as
			// original.eml), so leave it out here.
			for fi := range mb.Folders {
				mb.Folders[fi].Messages = slices.DeleteFunc(mb.Folders[fi].Messages, func(m mailgen.Message) bool { return m.Kind == mailgen.KindMalformed })
			}
		}
		for _, f := range mb.Folders {
			for _, m := range f.Messages {
				src.messages++
				src.bytes += int64(len(m.Raw))
			}
		}
		return mb
	}
	if o.dovecot {
		if _, err := dovecot.Installed(""); err != nil {
			return src, fmt.Errorf("demo --dovecot: %w (apt-get install -y dovecot-imapd)", err)
		}
		dc, err := dovecot.Start(ctx, dovecot.Options{})
		if err != nil {
			return src, err
		}
		src.closers = append(src.closers, func() { dc.Stop() })
		for i, a := range addrs {
			name := strings.Split(a, "@")[0]
			if _, err := dc.AddUser(name, "pw-"+name, dovecot.LayoutSlash); err != nil {
				return src, err
			}
			if err := dc.Seed(name, gen(i)); err != nil {
				return src, err
			}
			fmt.Fprintf(&src.csv, "%s,%s,pw-%s\n", a, name, name)
		}
		src.ep = model.Endpoint{Name: "demo-imap", Host: dc.Host, Port: dc.TLSPort, Security: "ssl", Auth: "plain"}
		src.roots = x509.NewCertPool()
		src.roots.AppendCertsFromPEM(dc.CAPEM)
	} else {
		mem := imapmemserver.New()
		for i, a := range addrs {
			name := strings.Split(a, "@")[0]
			u := imapmemserver.NewUser(name, "pw-"+name)
			if err := mailgen.SeedMemServer(u, gen(i)); err != nil {
				return src, err
			}
			mem.AddUser(u)
			fmt.Fprintf(&src.csv, "%s,%s,pw-%s\n", a, name, name)
		}
		srv := imapserver.New(&imapserver.Options{
			NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
				return mem.NewSession(), nil, nil
			},
			Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}},
			InsecureAuth: true,
		})
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return src, err
		}
		go srv.Serve(ln)
		src.closers = append(src.closers, func() { srv.Close() })
		host, port, _ := net.SplitHostPort(ln.Addr().String())
		p, _ := strconv.Atoi(port)
		src.ep = model.Endpoint{Name: "demo-imap", Host: host, Port: p, Security: "none", Auth: "login"}
	}
	src.ep.MaxConcurrentMigrations, src.ep.MaxConcurrentIncrementalSyncs = 20, 10
	return src, nil
}

// writeKeptConfig writes a config for the kept data directory, so that
// `imapmig serve` can open it after the demo.
func writeKeptConfig(dir string, ep model.Endpoint, t config.Tenant) (string, error) {
	secret := filepath.Join(dir, "demo-client-secret")
	if err := os.WriteFile(secret, []byte("demo-secret\n"), 0o600); err != nil {
		return "", err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	listen := ln.Addr().String()
	ln.Close()
	body := fmt.Sprintf(`# Written by 'imapmig demo --keep': the demo's daemon, for looking at its data.
data_dir: %q
listen: %s
endpoints:
  - {name: %s, host: %q, port: %d, security: %s, auth: %s}
tenants:
  - name: %s
    tenant_id: %s
    client_id: %s
    client_secret_file: %q
    authority_host: %q
    graph_url: %q
`, dir, listen, ep.Name, ep.Host, ep.Port, ep.Security, ep.Auth, t.Name, t.TenantID, t.ClientID, secret, t.AuthorityHost, t.GraphURL)
	path := filepath.Join(dir, "imapmig.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		return "", err
	}
	if _, err := config.Load(path); err != nil {
		return "", fmt.Errorf("demo: the kept config does not load: %w", err)
	}
	return path, nil
}

// demoSummary prints the outcome, counting duplicates straight from the
// emulator's mailboxes: two items with one source key in one folder.
func demoSummary(eng *migrate.Engine, emu *graphemu.Server, addrs []string, v migrate.BatchView, elapsed time.Duration, out io.Writer) error {
	reasons := map[string]int{}
	dups, items := 0, 0
	for _, a := range addrs {
		sk, err := eng.Skipped(a)
		if err != nil {
			return err
		}
		for _, it := range sk {
			reasons[it.Reason]++
		}
		dump, ok := emu.Dump(a)
		if !ok {
			continue
		}
		seen := map[string]bool{}
		for _, m := range dump.Messages {
			items++
			key := sourceKeyOf(m)
			if key == "" {
				continue
			}
			k := m.FolderID + "|" + key
			if seen[k] {
				dups++
			}
			seen[k] = true
		}
	}
	secs := elapsed.Seconds()
	fmt.Fprintf(out, "\nbatch %s: %s in %s\n", v.Name, v.Status, elapsed.Round(time.Millisecond))
	fmt.Fprintf(out, "  users:      %d (%d synced, %d failed)\n", v.TotalCount, v.SyncedCount, v.FailedCount)
	fmt.Fprintf(out, "  messages:   %d of %d in scope copied (%d items in the target)\n", v.SyncedItemCount, v.EstimatedTotalCount, items)
	fmt.Fprintf(out, "  bytes:      %s\n", bytesize.Format(v.SyncedBytes))
	fmt.Fprintf(out, "  rate:       %.0f messages/s, %.2f MB/s\n", float64(v.SyncedItemCount)/secs, float64(v.SyncedBytes)/secs/1e6)
	var rs []string
	for r, n := range reasons {
		rs = append(rs, fmt.Sprintf("%s %d", r, n))
	}
	sort.Strings(rs)
	fmt.Fprintf(out, "  skipped:    %d (%s)\n", v.SkippedItemCount, orDash(strings.Join(rs, ", ")))
	fmt.Fprintf(out, "  duplicates found in the target: %d\n", dups)
	fmt.Fprintf(out, "  DataConsistencyScore: %s\n", orDash(v.DataConsistencyScore))
	if dups > 0 || v.FailedCount > 0 {
		return exitError{1}
	}
	return nil
}

// sourceKeyOf finds the SourceKey named property on a dumped item.
func sourceKeyOf(m graphemu.MessageDump) string {
	v, _ := m.Ext(graphdst.SourceKeyProperty)
	return v
}

// emulatorCmd is `imapmig emulator graph`: the Graph emulator alone.
func emulatorCmd() *cobra.Command {
	var o emulatorOptions
	g := &cobra.Command{
		Use:   "graph",
		Short: "run the Graph emulator alone, for docker-compose and manual tests",
		Long: `Run the Graph emulator alone, for docker-compose and manual tests. --csv
provisions a migration CSV's addresses as mailboxes. /_emu/mailboxes/{address},
/_emu/stats and /_emu/sent dump its state.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return runEmulator(c.Context(), o, c.OutOrStdout(), c.ErrOrStderr())
		},
	}
	f := g.Flags()
	f.StringVar(&o.listen, "listen", "127.0.0.1:8443", "listen address")
	f.StringVar(&o.public, "public-url", "", "base URL clients use (default https://LISTEN)")
	f.StringVar(&o.mailboxes, "mailboxes", "", "comma-separated mailbox addresses to provision")
	f.StringVar(&o.csvPath, "csv", "", "provision the EmailAddress column of a migration CSV")
	f.Float64Var(&o.timeScale, "time-scale", 1, "divide throttling windows and Retry-After by this")
	f.BoolVar(&o.noThrottle, "no-throttling", false, "turn the per-mailbox limits off")
	f.Float64Var(&o.faults, "fault-rate", 0, "probability of an injected 503/504")
	f.Float64Var(&o.ambiguous, "ambiguous-rate", 0, "probability that a create succeeds but answers 504")
	f.StringVar(&o.certOut, "cert-out", "", "write the emulator's certificate (PEM) here, for clients' ca_file")
	return group("emulator", "test doubles of the cloud side", g)
}

type emulatorOptions struct {
	listen, public, mailboxes, csvPath, certOut string
	timeScale, faults, ambiguous                float64
	noThrottle                                  bool
}

func runEmulator(ctx context.Context, o emulatorOptions, stdout, stderr io.Writer) error {
	listen, public, mailboxes, csvPath, timeScale, noThrottle, faults, ambiguous, certOut :=
		&o.listen, &o.public, &o.mailboxes, &o.csvPath, &o.timeScale, &o.noThrottle, &o.faults, &o.ambiguous, &o.certOut
	boxes := splitList(*mailboxes)
	if *csvPath != "" {
		res, err := csvbatch.ParseFile(*csvPath)
		if err != nil {
			return err
		}
		for _, u := range res.Users {
			boxes = append(boxes, u.EmailAddress)
		}
	}
	emu, err := graphemu.New(graphemu.Options{Addr: *listen, PublicURL: *public, Mailboxes: boxes, TimeScale: *timeScale,
		DisableThrottling: *noThrottle, FaultRate: *faults, AmbiguousRate: *ambiguous,
		Logger: slog.New(slog.NewTextHandler(stderr, nil))})
	if err != nil {
		return err
	}
	if err := emu.Start(); err != nil {
		return err
	}
	defer emu.Close()
	if *certOut != "" {
		if err := os.WriteFile(*certOut, emu.CertPEM(), 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "Graph emulator on %s\n  graph_url:      %s\n  authority_host: %s\n  inspect:        %s/_emu/mailboxes/{address}, /_emu/stats, /_emu/sent\n  mailboxes:      %d\n",
		emu.URL(), emu.GraphURL(), emu.AuthorityHost(), emu.URL(), len(boxes))
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	return nil
}
