package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/migrate/config"
	"github.com/imapmig/imapmig/migrate/httpapi"
	"github.com/imapmig/imapmig/state"
)

// clientFlags are the flags every daemon-talking verb takes.
type clientFlags struct {
	config string
	api    string
	output string
}

func (c *clientFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.config, "config", os.Getenv("IMAPMIG_CONFIG"), "daemon config file")
	fs.StringVar(&c.api, "api", os.Getenv("IMAPMIG_API_URL"), "daemon API URL")
	fs.StringVar(&c.output, "o", "table", "output: table or json")
}

func (c *clientFlags) client() (*httpapi.Client, error) {
	if c.output != "table" && c.output != "json" && c.output != "csv" {
		return nil, fmt.Errorf("-o wants table or json, got %q", c.output)
	}
	cfgPath := c.config
	if cfgPath == "" {
		if _, err := os.Stat("imapmig.yaml"); err == nil {
			cfgPath = "imapmig.yaml"
		}
	}
	base, dataDir := c.api, ""
	if cfgPath != "" {
		cfg, err := config.Load(cfgPath)
		if err != nil {
			return nil, err
		}
		dataDir = cfg.DataDir
		if base == "" {
			host, port, _ := net.SplitHostPort(cfg.Listen)
			if host == "" || host == "0.0.0.0" || host == "::" {
				host = "127.0.0.1"
			}
			base = "http://" + net.JoinHostPort(host, port)
		}
	}
	if base == "" {
		base = "http://" + config.DefaultListen
	}
	token := os.Getenv(httpapi.TokenEnv)
	if token == "" && dataDir != "" {
		t, err := httpapi.ReadToken(dataDir)
		if err != nil {
			return nil, fmt.Errorf("no API token: set %s or point --config at the daemon's config (%v)", httpapi.TokenEnv, err)
		}
		token = t
	}
	if token == "" {
		return nil, fmt.Errorf("no API token: set %s or give --config", httpapi.TokenEnv)
	}
	return &httpapi.Client{BaseURL: base, Token: token}, nil
}

// connect adds the client flags to fs, parses args and returns the API
// client, the output format and the positional arguments.
func connect(fs *flag.FlagSet, args []string) (*httpapi.Client, string, []string, error) {
	var cf clientFlags
	cf.register(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return nil, "", nil, err
	}
	c, err := cf.client()
	return c, cf.output, pos, err
}

func ctx() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt)
}

// show prints v as JSON (-o json) or with the table function.
func show(w io.Writer, output string, raw json.RawMessage, v any, table func(*tabwriter.Writer)) error {
	if output == "json" {
		var buf any
		if err := json.Unmarshal(raw, &buf); err != nil {
			return err
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(buf)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	table(tw)
	return tw.Flush()
}

func fmtTime(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04")
}

// fmtBytes prints a byte count in binary units.
func fmtBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// dur prints seconds as a rounded duration.
func dur(secs float64) string {
	if secs <= 0 {
		return "-"
	}
	return (time.Duration(secs) * time.Second).String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func cmdBatch(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("batch: want a sub-command: new, list, get, watch, start, stop, syncnow, complete, remove, approve, add-users, events")
	}
	sub, args := args[0], args[1:]
	if sub == "watch" {
		return cmdWatch(args, stdout)
	}
	fs := flag.NewFlagSet("batch "+sub, flag.ContinueOnError)
	var (
		endpoint, tenant, csvPath, exclude, include, notify string
		receivedAfter, startAfter, completeAfter, syncEvery string
		autostart, skipInvalid                              bool
		deletedItems                                        = true
		last                                                int
	)
	if sub == "new" || sub == "add-users" {
		fs.StringVar(&csvPath, "csv", "", "CSV of users (EmailAddress,UserName,Password[,UserRoot])")
		fs.BoolVar(&skipInvalid, "skip-invalid-rows", false, "create the batch without the bad rows")
	}
	var nameFlag string
	if sub == "new" {
		fs.StringVar(&nameFlag, "name", "", "batch name (or give it as the first argument)")
		fs.StringVar(&endpoint, "endpoint", "", "IMAP endpoint name")
		fs.StringVar(&tenant, "tenant", "", "Graph tenant name")
		fs.BoolVar(&autostart, "autostart", false, "start the batch at once")
		fs.StringVar(&exclude, "exclude-folders", "", "comma-separated folders to leave out")
		fs.StringVar(&include, "include-folders", "", "comma-separated folders to copy (all when empty)")
		fs.StringVar(&receivedAfter, "received-after", "", "copy only mail received after this date")
		fs.StringVar(&startAfter, "start-after", "", "start no earlier than this time")
		fs.StringVar(&completeAfter, "complete-after", "", "complete at this time")
		fs.StringVar(&syncEvery, "sync-interval", "24h", "time between incremental syncs")
		fs.StringVar(&notify, "notification-emails", "", "comma-separated report recipients")
		fs.BoolVar(&deletedItems, "migrate-deleted-items", true, "copy the Trash folder too")
	}
	if sub == "events" {
		fs.IntVar(&last, "last", 50, "how many events")
	}
	c, output, pos, err := connect(fs, args)
	if err != nil {
		return err
	}
	cx, cancel := ctx()
	defer cancel()
	if sub == "list" {
		var raw json.RawMessage
		if err := c.Do(cx, "GET", "/v1/batches", nil, &raw); err != nil {
			return err
		}
		var bs []migrate.BatchView
		return show(stdout, output, raw, &bs, func(tw *tabwriter.Writer) {
			fmt.Fprintln(tw, "NAME\tSTATUS\tTOTAL\tACTIVE\tQUEUED\tSYNCED\tFAILED\tCOMPLETED\tITEMS\tSKIPPED\tSCORE")
			for _, b := range bs {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\n", b.Name, b.Status, b.TotalCount, b.ActiveCount,
					b.QueuedCount, b.SyncedCount, b.FailedCount, b.CompletedCount+b.CompletedWithWarningCount,
					b.SyncedItemCount, b.SkippedItemCount, orDash(b.DataConsistencyScore))
			}
		})
	}
	if nameFlag != "" && len(pos) == 0 {
		pos = []string{nameFlag}
	}
	if err := needArgs(pos, 1, "one batch name"); err != nil {
		return fmt.Errorf("batch %s: %w", sub, err)
	}
	name := httpapi.PathEscape(pos[0])
	switch sub {
	case "new":
		if endpoint == "" || tenant == "" || csvPath == "" {
			return errors.New("batch new: --endpoint, --tenant and --csv are required")
		}
		data, err := os.ReadFile(csvPath)
		if err != nil {
			return err
		}
		abs, _ := filepath.Abs(csvPath)
		req := httpapi.CreateBatchRequest{Name: pos[0], Endpoint: endpoint, Tenant: tenant, CSV: string(data), CSVPath: abs,
			Autostart: autostart, SkipInvalidRows: skipInvalid}
		o := &req.Options
		o.ExcludeFolders, o.IncludeFolders, o.NotificationEmails = splitList(exclude), splitList(include), splitList(notify)
		o.MigrateDeletedItems = deletedItems
		if o.SyncInterval, err = config.ParseDuration(syncEvery); err != nil {
			return fmt.Errorf("--sync-interval: %w", err)
		}
		for flagName, p := range map[string]*time.Time{"received-after": &o.ReceivedAfter, "start-after": &o.StartAfter, "complete-after": &o.CompleteAfter} {
			v := map[string]string{"received-after": receivedAfter, "start-after": startAfter, "complete-after": completeAfter}[flagName]
			if v == "" {
				continue
			}
			if *p, err = config.ParseTime(v); err != nil {
				return fmt.Errorf("--%s: %w", flagName, err)
			}
		}
		var res migrate.CreateResult
		if err := c.Do(cx, "POST", "/v1/batches", req, &res); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "batch %s created with %d users (%s)\n", res.Batch.Name, res.Users, res.Batch.Status)
		for _, p := range res.SkippedRows {
			fmt.Fprintf(stdout, "  left out: %s\n", p.Error())
		}
		return nil
	case "add-users":
		if csvPath == "" {
			return errors.New("batch add-users: --csv is required")
		}
		data, err := os.ReadFile(csvPath)
		if err != nil {
			return err
		}
		var res migrate.CreateResult
		if err := c.Do(cx, "POST", "/v1/batches/"+name+"/users", httpapi.AddUsersRequest{CSV: string(data), SkipInvalidRows: skipInvalid}, &res); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%d users added to %s\n", res.Users, pos[0])
		return nil
	case "get":
		var raw json.RawMessage
		if err := c.Do(cx, "GET", "/v1/batches/"+name, nil, &raw); err != nil {
			return err
		}
		var b migrate.BatchView
		return show(stdout, output, raw, &b, func(tw *tabwriter.Writer) {
			rows := [][2]string{
				{"Identity", b.Name}, {"Status", string(b.Status)}, {"SourceEndpoint", b.Endpoint}, {"TargetTenant", b.Tenant},
				{"TotalCount", strconv.Itoa(b.TotalCount)}, {"ActiveCount", strconv.Itoa(b.ActiveCount)},
				{"QueuedCount", strconv.Itoa(b.QueuedCount)}, {"SyncedCount", strconv.Itoa(b.SyncedCount)},
				{"StoppedCount", strconv.Itoa(b.StoppedCount)}, {"FailedCount", strconv.Itoa(b.FailedCount)},
				{"CompletedCount", strconv.Itoa(b.CompletedCount)}, {"CompletedWithWarningCount", strconv.Itoa(b.CompletedWithWarningCount)},
				{"StalledCount", strconv.Itoa(b.StalledCount)},
				{"EstimatedTotalCount", strconv.FormatInt(b.EstimatedTotalCount, 10)}, {"EstimatedTotalSize", fmtBytes(b.EstimatedTotalSize)},
				{"SyncedItemCount", strconv.FormatInt(b.SyncedItemCount, 10)}, {"SyncedBytes", fmtBytes(b.SyncedBytes)},
				{"SkippedItemCount", strconv.FormatInt(b.SkippedItemCount, 10)}, {"DataConsistencyScore", orDash(b.DataConsistencyScore)},
				{"CreationDateTime", fmtTime(&b.CreationDateTime)}, {"StartDateTime", fmtTime(b.StartDateTime)},
				{"LastSyncedDateTime", fmtTime(b.LastSyncedDateTime)},
			}
			for _, r := range rows {
				fmt.Fprintf(tw, "%s:\t%s\n", r[0], r[1])
			}
		})
	case "events":
		var raw json.RawMessage
		if err := c.Do(cx, "GET", fmt.Sprintf("/v1/batches/%s/events?last=%d", name, last), nil, &raw); err != nil {
			return err
		}
		var evs []state.Event
		return show(stdout, output, raw, &evs, func(tw *tabwriter.Writer) {
			for _, e := range evs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.At.Local().Format(time.DateTime), e.Level, orDash(e.User), e.Message)
			}
		})
	case "start", "stop", "complete", "syncnow", "approve":
		var res httpapi.CountResult
		if err := c.Do(cx, "POST", "/v1/batches/"+name+"/"+sub, nil, &res); err != nil {
			return err
		}
		switch sub {
		case "syncnow":
			fmt.Fprintf(stdout, "sync now: %d users queued\n", res.Count)
		case "approve":
			fmt.Fprintf(stdout, "%d skipped items approved\n", res.Count)
		default:
			fmt.Fprintf(stdout, "batch %s: %s requested\n", pos[0], sub)
		}
		return nil
	case "remove":
		if err := c.Do(cx, "DELETE", "/v1/batches/"+name, nil, nil); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "batch %s removed (mail already in the target is kept)\n", pos[0])
		return nil
	}
	return fmt.Errorf("batch: unknown sub-command %q", sub)
}

func cmdUser(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("user: want a sub-command: list, get, syncnow, stop, remove, skipped, approve, verify")
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("user "+sub, flag.ContinueOnError)
	var batch string
	if sub == "list" {
		fs.StringVar(&batch, "batch", "", "only this batch")
	}
	c, output, pos, err := connect(fs, args)
	if err != nil {
		return err
	}
	cx, cancel := ctx()
	defer cancel()
	if sub == "list" {
		var raw json.RawMessage
		path := "/v1/users"
		if batch != "" {
			path = "/v1/batches/" + httpapi.PathEscape(batch) + "/users"
		}
		if err := c.Do(cx, "GET", path, nil, &raw); err != nil {
			return err
		}
		var us []migrate.UserView
		return show(stdout, output, raw, &us, func(tw *tabwriter.Writer) {
			fmt.Fprintln(tw, "EMAIL\tBATCH\tSTATUS\tITEMS\tOF\tBYTES\tSKIPPED\tSCORE\tLAST SYNC\tERROR")
			for _, u := range us {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%d\t%s\t%s\t%s\n", u.EmailAddress, u.BatchId, u.Status, u.SyncedItemCount,
					u.EstimatedTotalCount, fmtBytes(u.SyncedBytes), u.SkippedItemCount, orDash(u.DataConsistencyScore),
					fmtTime(u.LastSuccessfulSyncTime), orDash(u.ErrorReason))
			}
		})
	}
	if err := needArgs(pos, 1, "one user email address"); err != nil {
		return fmt.Errorf("user %s: %w", sub, err)
	}
	email := httpapi.PathEscape(pos[0])
	switch sub {
	case "get":
		var raw json.RawMessage
		if err := c.Do(cx, "GET", "/v1/users/"+email, nil, &raw); err != nil {
			return err
		}
		var u migrate.UserView
		return show(stdout, output, raw, &u, func(tw *tabwriter.Writer) {
			eta := "-"
			if u.EstimatedSecondsLeft != nil {
				eta = (time.Duration(*u.EstimatedSecondsLeft) * time.Second).String()
			}
			rows := [][2]string{
				{"EmailAddress", u.EmailAddress}, {"BatchId", u.BatchId}, {"UserName", u.UserName}, {"Status", string(u.Status)},
				{"EstimatedTotalCount", strconv.FormatInt(u.EstimatedTotalCount, 10)}, {"EstimatedTotalSize", fmtBytes(u.EstimatedTotalSize)},
				{"SyncedItemCount", strconv.FormatInt(u.SyncedItemCount, 10)}, {"SyncedBytes", fmtBytes(u.SyncedBytes)},
				{"SkippedItemCount", strconv.FormatInt(u.SkippedItemCount, 10)},
				{"Rate", fmt.Sprintf("%.1f items/s, %s/s", u.ItemsPerSecond, fmtBytes(int64(u.BytesPerSecond)))}, {"ETA", eta},
				{"LastSuccessfulSyncTime", fmtTime(u.LastSuccessfulSyncTime)}, {"NextSyncTime", fmtTime(u.NextSyncTime)},
				{"QueuedDuration", dur(u.QueuedDuration)}, {"InProgressDuration", dur(u.InProgressDuration)},
				{"SyncedDuration", dur(u.SyncedDuration)}, {"StalledDuration", dur(u.StalledDuration)}, {"Stalled", strconv.FormatBool(u.Stalled)},
				{"DataConsistencyScore", orDash(u.DataConsistencyScore)}, {"ErrorReason", orDash(u.ErrorReason)}, {"LastError", orDash(u.LastError)},
			}
			for _, r := range rows {
				fmt.Fprintf(tw, "%s:\t%s\n", r[0], r[1])
			}
			for _, k := range slices.Sorted(maps.Keys(u.ItemNotes)) {
				fmt.Fprintf(tw, "ItemNotes.%s:\t%d\n", k, u.ItemNotes[k])
			}
		})
	case "skipped":
		var raw json.RawMessage
		if err := c.Do(cx, "GET", "/v1/users/"+email+"/skipped", nil, &raw); err != nil {
			return err
		}
		var items []state.SkippedItem
		if output == "csv" {
			if err := json.Unmarshal(raw, &items); err != nil {
				return err
			}
			w := csv.NewWriter(stdout)
			_ = w.Write([]string{"Folder", "Date", "Subject", "Size", "Reason", "Approved", "Message"})
			for _, it := range items {
				d := ""
				if !it.Date.IsZero() {
					d = it.Date.Format(time.RFC3339)
				}
				_ = w.Write([]string{it.Folder, d, it.Subject, strconv.FormatInt(it.Size, 10), it.Reason, strconv.FormatBool(it.Approved), it.Message})
			}
			w.Flush()
			return w.Error()
		}
		return show(stdout, output, raw, &items, func(tw *tabwriter.Writer) {
			fmt.Fprintln(tw, "FOLDER\tDATE\tSIZE\tREASON\tAPPROVED\tSUBJECT")
			for _, it := range items {
				d := "-"
				if !it.Date.IsZero() {
					d = it.Date.Format(time.DateOnly)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\t%s\n", it.Folder, d, fmtBytes(it.Size), it.Reason, it.Approved, it.Subject)
			}
		})
	case "verify":
		var raw json.RawMessage
		if err := c.Do(cx, "POST", "/v1/users/"+email+"/verify", nil, &raw); err != nil {
			return err
		}
		var v migrate.Verification
		if err := show(stdout, output, raw, &v, func(tw *tabwriter.Writer) {
			fmt.Fprintf(tw, "%s\n", v.Verdict)
			if len(v.Differences) > 0 {
				fmt.Fprintln(tw, "KIND\tFOLDER\tUID\tSOURCE KEY\tSUBJECT")
				for _, d := range v.Differences {
					fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", d.Kind, d.Folder, d.UID, d.SourceKey, d.Subject)
				}
			}
		}); err != nil {
			return err
		}
		if len(v.Differences) > 0 {
			return exitError{1}
		}
		return nil
	case "syncnow", "stop", "approve":
		var res httpapi.CountResult
		if err := c.Do(cx, "POST", "/v1/users/"+email+"/"+sub, nil, &res); err != nil {
			return err
		}
		if sub == "approve" {
			fmt.Fprintf(stdout, "%d skipped items approved\n", res.Count)
		} else {
			fmt.Fprintf(stdout, "user %s: %s requested\n", pos[0], sub)
		}
		return nil
	case "remove":
		if err := c.Do(cx, "DELETE", "/v1/users/"+email, nil, nil); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "user %s removed (mail already in the target is kept)\n", pos[0])
		return nil
	}
	return fmt.Errorf("user: unknown sub-command %q", sub)
}

func cmdEndpoint(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("endpoint: want a sub-command: list, test")
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("endpoint "+sub, flag.ContinueOnError)
	var user string
	fs.StringVar(&user, "user", "", "migration user whose credentials to test with")
	c, output, pos, err := connect(fs, args)
	if err != nil {
		return err
	}
	cx, cancel := ctx()
	defer cancel()
	switch sub {
	case "list":
		var raw json.RawMessage
		if err := c.Do(cx, "GET", "/v1/endpoints", nil, &raw); err != nil {
			return err
		}
		var eps []state.Endpoint
		return show(stdout, output, raw, &eps, func(tw *tabwriter.Writer) {
			fmt.Fprintln(tw, "NAME\tHOST\tPORT\tSECURITY\tAUTH\tMAX INITIAL\tMAX INCREMENTAL")
			for _, e := range eps {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%d\t%d\n", e.Name, e.Host, e.Port, e.Security, e.Auth, e.MaxConcurrentMigrations, e.MaxConcurrentIncrementalSyncs)
			}
		})
	case "test":
		if err := needArgs(pos, 1, "one endpoint name"); err != nil {
			return fmt.Errorf("endpoint test: %w", err)
		}
		path := "/v1/endpoints/" + httpapi.PathEscape(pos[0]) + "/test"
		if user != "" {
			path += "?user=" + httpapi.PathEscape(user)
		}
		var raw json.RawMessage
		if err := c.Do(cx, "POST", path, nil, &raw); err != nil {
			return err
		}
		var res migrate.EndpointTest
		if err := show(stdout, output, raw, &res, func(tw *tabwriter.Writer) {
			fmt.Fprintf(tw, "endpoint %s as %s: %s (%.2fs)\n", res.Endpoint, res.User, res.Result, res.Seconds)
			if res.Error != "" {
				fmt.Fprintf(tw, "  %s\n", res.Error)
			}
		}); err != nil {
			return err
		}
		if res.Result != "Success" {
			return exitError{1}
		}
		return nil
	}
	return fmt.Errorf("endpoint: unknown sub-command %q", sub)
}

func cmdStats(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("stats", flag.ContinueOnError)
	c, output, _, err := connect(fs, args)
	if err != nil {
		return err
	}
	cx, cancel := ctx()
	defer cancel()
	var raw json.RawMessage
	if err := c.Do(cx, "GET", "/v1/stats", nil, &raw); err != nil {
		return err
	}
	var s migrate.Stats
	return show(stdout, output, raw, &s, func(tw *tabwriter.Writer) {
		fmt.Fprintf(tw, "Batches:\t%d\n", s.Batches)
		fmt.Fprintf(tw, "Users:\t%d\n", s.Users)
		for st, n := range s.UsersByStatus {
			fmt.Fprintf(tw, "  %s:\t%d\n", st, n)
		}
		fmt.Fprintf(tw, "SyncedItemCount:\t%d\n", s.SyncedItemCount)
		fmt.Fprintf(tw, "SyncedBytes:\t%s\n", fmtBytes(s.SyncedBytes))
		fmt.Fprintf(tw, "SkippedItemCount:\t%d\n", s.SkippedItemCount)
	})
}
