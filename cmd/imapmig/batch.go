package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/migrate/bytesize"
	"github.com/imapmig/imapmig/migrate/config"
	"github.com/imapmig/imapmig/migrate/httpapi"
	"github.com/imapmig/imapmig/migrate/model"
)

func batchCmd() *cobra.Command {
	return group("batch", "create, watch and drive migration batches (talks to the daemon)",
		batchNewCmd(), batchListCmd(), batchGetCmd(), watchCmd(),
		batchActionCmd("start", "start, or resume: also retries Failed users"),
		batchActionCmd("stop", "pause; running syncs stop at the next message boundary"),
		batchActionCmd("syncnow", "an incremental sync of every Synced user, now"),
		batchActionCmd("complete", "one final incremental sync, then Completed; no more syncs. Refused while MX still points at the old provider (--force)"),
		batchActionCmd("approve", "approve all skipped items of the batch"),
		batchRemoveCmd(), batchAddUsersCmd(), batchEventsCmd(), batchSetCmd(),
	)
}

func batchNewCmd() *cobra.Command {
	var (
		name, endpoint, tenant, csvPath string
		autostart, skipInvalid          bool
		opt                             optionFlags
	)
	c := &cobra.Command{
		Use:   "new NAME --endpoint E --tenant T --csv FILE",
		Short: "create a batch from a CSV of users",
		Args:  cobra.MaximumNArgs(1),
	}
	f := c.Flags()
	f.StringVar(&name, "name", "", "batch name (or give it as the first argument)")
	f.StringVar(&endpoint, "endpoint", "", "IMAP endpoint name (from the config)")
	f.StringVar(&tenant, "tenant", "", "Graph tenant name (from the config)")
	f.StringVar(&csvPath, "csv", "", "CSV of users (EmailAddress,UserName,Password[,UserRoot])")
	f.BoolVar(&skipInvalid, "skip-invalid-rows", false, "create the batch without the bad rows")
	f.BoolVar(&autostart, "autostart", false, "start the batch at once")
	opt.register(f, false)
	return withAPI(c, nil, func(a *apiCall, args []string) error {
		if len(args) == 1 {
			name = args[0]
		}
		if name == "" {
			return errors.New("batch new: want a batch name (NAME or --name)")
		}
		if endpoint == "" || tenant == "" || csvPath == "" {
			return errors.New("batch new: --endpoint, --tenant and --csv are required")
		}
		data, err := os.ReadFile(csvPath)
		if err != nil {
			return err
		}
		abs, _ := filepath.Abs(csvPath)
		req := httpapi.CreateBatchRequest{Name: name, Endpoint: endpoint, Tenant: tenant, CSV: string(data), CSVPath: abs,
			Autostart: autostart, SkipInvalidRows: skipInvalid}
		o := &req.Options
		o.ExcludeFolders, o.IncludeFolders, o.NotificationEmails = splitList(opt.exclude), splitList(opt.include), splitList(opt.notify)
		o.MigrateDeletedItems = opt.deletedItems
		if o.SyncInterval, err = config.ParseDuration(opt.syncEvery); err != nil {
			return fmt.Errorf("--sync-interval: %w", err)
		}
		for _, t := range []struct {
			flag, v string
			p       *time.Time
		}{{"received-after", opt.receivedAfter, &o.ReceivedAfter}, {"start-after", opt.startAfter, &o.StartAfter}, {"complete-after", opt.completeAfter, &o.CompleteAfter}} {
			if t.v == "" {
				continue
			}
			if *t.p, err = config.ParseTime(t.v); err != nil {
				return fmt.Errorf("--%s: %w", t.flag, err)
			}
		}
		var res migrate.CreateResult
		if err := a.Do(a.ctx, "POST", "/v1/batches", req, &res); err != nil {
			return err
		}
		fmt.Fprintf(a.out, "batch %s created with %d users (%s)\n", res.Batch.Name, res.Users, res.Batch.Status)
		for _, p := range res.SkippedRows {
			fmt.Fprintf(a.out, "  left out: %s\n", p.Error())
		}
		return nil
	})
}

func batchListCmd() *cobra.Command {
	c := &cobra.Command{Use: "list", Short: "batches with counts by status, totals and the DataConsistencyScore", Args: cobra.NoArgs}
	header := []string{"NAME", "STATUS", "TOTAL", "ACTIVE", "QUEUED", "SYNCED", "FAILED", "COMPLETED", "ITEMS", "OF", "SKIPPED", "SCORE"}
	row := func(b migrate.BatchView) []string {
		return []string{b.Name, string(b.Status), strconv.Itoa(b.TotalCount), strconv.Itoa(b.ActiveCount), strconv.Itoa(b.QueuedCount),
			strconv.Itoa(b.SyncedCount), strconv.Itoa(b.FailedCount), strconv.Itoa(b.CompletedCount + b.CompletedWithWarningCount),
			strconv.FormatInt(b.SyncedItemCount, 10), strconv.FormatInt(b.EstimatedTotalCount, 10),
			strconv.FormatInt(b.SkippedItemCount, 10), orDash(b.DataConsistencyScore)}
	}
	return withAPI(c, outViewsCSV, func(a *apiCall, _ []string) error {
		return getList(a, "/v1/batches", header, row, func(tw *tabwriter.Writer, bs []migrate.BatchView) {
			fmt.Fprintln(tw, strings.Join(header, "\t"))
			for _, b := range bs {
				fmt.Fprintln(tw, strings.Join(row(b), "\t"))
			}
		})
	})
}

func batchGetCmd() *cobra.Command {
	c := &cobra.Command{Use: "get NAME", Short: "one batch: counts by status, totals, score and dates", Args: exactArgs(1, "one batch name")}
	return withAPI(c, outViews, func(a *apiCall, args []string) error {
		var b migrate.BatchView
		return a.get("/v1/batches/"+httpapi.PathEscape(args[0]), &b, func(tw *tabwriter.Writer) {
			rows := [][2]string{
				{"Identity", b.Name}, {"Status", string(b.Status)}, {"SourceEndpoint", b.Endpoint}, {"TargetTenant", b.Tenant},
				{"TotalCount", strconv.Itoa(b.TotalCount)}, {"ActiveCount", strconv.Itoa(b.ActiveCount)},
				{"QueuedCount", strconv.Itoa(b.QueuedCount)}, {"SyncedCount", strconv.Itoa(b.SyncedCount)},
				{"StoppedCount", strconv.Itoa(b.StoppedCount)}, {"FailedCount", strconv.Itoa(b.FailedCount)},
				{"CompletedCount", strconv.Itoa(b.CompletedCount)}, {"CompletedWithWarningCount", strconv.Itoa(b.CompletedWithWarningCount)},
				{"StalledCount", strconv.Itoa(b.StalledCount)},
				{"EstimatedTotalCount", strconv.FormatInt(b.EstimatedTotalCount, 10)}, {"EstimatedTotalSize", bytesize.Format(b.EstimatedTotalSize)},
				{"SyncedItemCount", strconv.FormatInt(b.SyncedItemCount, 10)}, {"SyncedBytes", bytesize.Format(b.SyncedBytes)},
				{"SkippedItemCount", strconv.FormatInt(b.SkippedItemCount, 10)}, {"MissingItemCount", strconv.FormatInt(b.MissingItemCount, 10)},
				{"NotSyncedCount", strconv.Itoa(b.NotSyncedCount)}, {"DataConsistencyScore", orDash(b.DataConsistencyScore)},
				{"CreationDateTime", fmtTime(&b.CreationDateTime)}, {"StartDateTime", fmtTime(b.StartDateTime)},
				{"LastSyncedDateTime", fmtTime(b.LastSyncedDateTime)},
			}
			for _, r := range rows {
				fmt.Fprintf(tw, "%s:\t%s\n", r[0], r[1])
			}
		})
	})
}

func batchEventsCmd() *cobra.Command {
	var last int
	c := &cobra.Command{Use: "events NAME", Short: "the batch's event log", Args: exactArgs(1, "one batch name")}
	c.Flags().IntVar(&last, "last", 50, "how many events")
	return withAPI(c, outViews, func(a *apiCall, args []string) error {
		var evs []model.Event
		return a.get(fmt.Sprintf("/v1/batches/%s/events?last=%d", httpapi.PathEscape(args[0]), last), &evs, func(tw *tabwriter.Writer) {
			for _, e := range evs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.At.Local().Format(time.DateTime), e.Level, orDash(e.User), e.Message)
			}
		})
	})
}

// batchActionCmd is start, stop, syncnow, complete or approve.
func batchActionCmd(action, short string) *cobra.Command {
	var yes, force bool
	c := &cobra.Command{Use: action + " NAME", Short: short, Args: exactArgs(1, "one batch name")}
	if action == "complete" {
		c.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation on a terminal")
		c.Flags().BoolVar(&force, "force", false, "complete even while MX still points at the old provider (mail arriving there afterwards is not copied)")
	}
	return withAPI(c, nil, func(a *apiCall, args []string) error {
		if action == "complete" {
			if err := confirm(a, yes, fmt.Sprintf("Complete batch %s? Its users get one last sync and then no more.", args[0])); err != nil {
				return err
			}
		}
		var res httpapi.CountResult
		var body any
		if force {
			body = httpapi.CompleteRequest{Force: true} // the daemon checks MX unless Force
		}
		if err := a.Do(a.ctx, "POST", "/v1/batches/"+httpapi.PathEscape(args[0])+"/"+action, body, &res); err != nil {
			return err
		}
		switch action {
		case "syncnow":
			fmt.Fprintf(a.out, "sync now: %d users queued\n", res.Count)
		case "approve":
			fmt.Fprintf(a.out, "%d skipped items approved\n", res.Count)
		default:
			fmt.Fprintf(a.out, "batch %s: %s requested\n", args[0], action)
		}
		return nil
	})
}

func batchRemoveCmd() *cobra.Command {
	var yes bool
	c := &cobra.Command{Use: "remove NAME", Short: "delete the batch and its state; mail already copied stays", Args: exactArgs(1, "one batch name")}
	c.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation on a terminal")
	return withAPI(c, nil, func(a *apiCall, args []string) error {
		if err := confirm(a, yes, fmt.Sprintf("Remove batch %s and its state? Mail already copied stays.", args[0])); err != nil {
			return err
		}
		if err := a.Do(a.ctx, "DELETE", "/v1/batches/"+httpapi.PathEscape(args[0]), nil, nil); err != nil {
			return err
		}
		fmt.Fprintf(a.out, "batch %s removed (mail already in the target is kept)\n", args[0])
		return nil
	})
}

func batchAddUsersCmd() *cobra.Command {
	var csvPath string
	var skipInvalid bool
	c := &cobra.Command{Use: "add-users NAME --csv FILE", Short: "add users to a batch (also a running one)", Args: exactArgs(1, "one batch name")}
	c.Flags().StringVar(&csvPath, "csv", "", "CSV of users (EmailAddress,UserName,Password[,UserRoot])")
	c.Flags().BoolVar(&skipInvalid, "skip-invalid-rows", false, "add the valid rows and leave out the bad ones")
	return withAPI(c, nil, func(a *apiCall, args []string) error {
		if csvPath == "" {
			return errors.New("batch add-users: --csv is required")
		}
		data, err := os.ReadFile(csvPath)
		if err != nil {
			return err
		}
		var res migrate.CreateResult
		if err := a.Do(a.ctx, "POST", "/v1/batches/"+httpapi.PathEscape(args[0])+"/users", httpapi.AddUsersRequest{CSV: string(data), SkipInvalidRows: skipInvalid}, &res); err != nil {
			return err
		}
		fmt.Fprintf(a.out, "%d users added to %s\n", res.Users, args[0])
		return nil
	})
}

// optionFlags are the batch options `batch new` and `batch set` both take.
type optionFlags struct {
	exclude, include, notify, syncEvery, receivedAfter, startAfter, completeAfter string
	deletedItems                                                                  bool
}

// register adds the flags, worded for `batch set` when set is true (no
// default interval, and "" clears a time).
func (o *optionFlags) register(f *pflag.FlagSet, set bool) {
	syncDefault, syncHelp, clears := "24h", "time between incremental syncs", ""
	if set {
		syncDefault, syncHelp, clears = "", "time between incremental syncs, e.g. 24h, 90m, 1d", ` ("" clears it)`
	}
	f.StringVar(&o.exclude, "exclude-folders", "", "comma-separated folders to leave out")
	f.StringVar(&o.include, "include-folders", "", "comma-separated folders to copy (all when empty)")
	f.StringVar(&o.notify, "notification-emails", "", "comma-separated report recipients")
	f.StringVar(&o.syncEvery, "sync-interval", syncDefault, syncHelp)
	f.StringVar(&o.receivedAfter, "received-after", "", "copy only mail received after this date"+clears)
	f.StringVar(&o.startAfter, "start-after", "", "start no earlier than this time"+clears)
	f.StringVar(&o.completeAfter, "complete-after", "", "complete at this time"+clears)
	f.BoolVar(&o.deletedItems, "migrate-deleted-items", true, "copy the Trash folder too")
}

// batchSetCmd is `batch set NAME --sync-interval … --exclude-folders …`:
// Exchange's Set-MigrationBatch. Only the flags given are changed.
func batchSetCmd() *cobra.Command {
	var opt optionFlags
	c := &cobra.Command{
		Use:   "set NAME [--sync-interval D] [--exclude-folders A,B] ...",
		Short: "change a batch's options at run time; only the flags given change",
		Long: `Change a batch's options at run time (Exchange's Set-MigrationBatch); only
the flags given change. Folder filters and --received-after apply from each
user's next pass; a new --sync-interval reschedules the synced users' next
sync from their last one. An empty list (--exclude-folders "") clears it.`,
		Args: exactArgs(1, "one batch name"),
	}
	opt.register(c.Flags(), true)
	return withAPI(c, outViews, func(a *apiCall, args []string) error {
		var req httpapi.SetBatchRequest
		list := func(flag, v string, dst **[]string) {
			if c.Flags().Changed(flag) {
				l := splitList(v)
				if l == nil {
					l = []string{}
				}
				*dst = &l
			}
		}
		str := func(flag, v string, dst **string) {
			if c.Flags().Changed(flag) {
				*dst = &v
			}
		}
		list("exclude-folders", opt.exclude, &req.ExcludeFolders)
		list("include-folders", opt.include, &req.IncludeFolders)
		list("notification-emails", opt.notify, &req.NotificationEmails)
		str("sync-interval", opt.syncEvery, &req.SyncInterval)
		str("received-after", opt.receivedAfter, &req.ReceivedAfter)
		str("start-after", opt.startAfter, &req.StartAfter)
		str("complete-after", opt.completeAfter, &req.CompleteAfter)
		if c.Flags().Changed("migrate-deleted-items") {
			req.MigrateDeletedItems = &opt.deletedItems
		}
		if req == (httpapi.SetBatchRequest{}) {
			return errors.New("batch set: give at least one option to change (see --help)")
		}
		var raw json.RawMessage
		if err := a.Do(a.ctx, "PATCH", "/v1/batches/"+httpapi.PathEscape(args[0]), req, &raw); err != nil {
			return err
		}
		var b migrate.BatchView
		return show(a.out, a.output, raw, &b, func(tw *tabwriter.Writer) {
			o := b.Options
			fmt.Fprintf(tw, "batch %s updated\n", b.Name)
			fmt.Fprintf(tw, "SyncInterval:\t%s\n", o.SyncInterval)
			fmt.Fprintf(tw, "ExcludeFolders:\t%s\n", orDash(strings.Join(o.ExcludeFolders, ",")))
			fmt.Fprintf(tw, "IncludeFolders:\t%s\n", orDash(strings.Join(o.IncludeFolders, ",")))
			fmt.Fprintf(tw, "NotificationEmails:\t%s\n", orDash(strings.Join(o.NotificationEmails, ",")))
			fmt.Fprintf(tw, "ReceivedAfter:\t%s\n", fmtTime(&o.ReceivedAfter))
			fmt.Fprintf(tw, "StartAfter:\t%s\n", fmtTime(&o.StartAfter))
			fmt.Fprintf(tw, "CompleteAfter:\t%s\n", fmtTime(&o.CompleteAfter))
			fmt.Fprintf(tw, "MigrateDeletedItems:\t%v\n", o.MigrateDeletedItems)
		})
	})
}
