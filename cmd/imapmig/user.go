package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/migrate/bytesize"
	"github.com/imapmig/imapmig/migrate/httpapi"
	"github.com/imapmig/imapmig/migrate/model"
)

func userCmd() *cobra.Command {
	return group("user", "inspect and drive single users (talks to the daemon)",
		userListCmd(), userGetCmd(),
		userActionCmd("syncnow", "sync one Synced user now; a Failed user is refused (resume with 'batch start')"),
		userActionCmd("stop", "stop one user at the next message boundary"),
		userActionCmd("approve", "approve a user's skipped items (the score moves from Investigate to Good)"),
		userRemoveCmd(), userSkippedCmd(), userVerifyCmd(),
	)
}

func userListCmd() *cobra.Command {
	var batch string
	c := &cobra.Command{Use: "list", Short: "per-user status and figures", Args: cobra.NoArgs}
	c.Flags().StringVar(&batch, "batch", "", "only this batch")
	return withAPI(c, outViewsCSV, func(a *apiCall, _ []string) error {
		path := "/v1/users"
		if batch != "" {
			path = "/v1/batches/" + httpapi.PathEscape(batch) + "/users"
		}
		header := []string{"EMAIL", "BATCH", "STATUS", "ITEMS", "OF", "BYTES", "SKIPPED", "SCORE", "LAST SYNC", "ERROR"}
		return getList(a, path, header, func(u migrate.UserView) []string {
			last := ""
			if u.LastSuccessfulSyncTime != nil {
				last = u.LastSuccessfulSyncTime.UTC().Format(time.RFC3339)
			}
			return []string{u.EmailAddress, u.BatchId, string(u.Status), strconv.FormatInt(u.SyncedItemCount, 10),
				strconv.FormatInt(u.EstimatedTotalCount, 10), strconv.FormatInt(u.SyncedBytes, 10), strconv.FormatInt(u.SkippedItemCount, 10),
				u.DataConsistencyScore, last, u.ErrorReason}
		}, func(tw *tabwriter.Writer, us []migrate.UserView) {
			fmt.Fprintln(tw, strings.Join(header, "\t"))
			for _, u := range us {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%d\t%s\t%s\t%s\n", u.EmailAddress, u.BatchId, u.Status, u.SyncedItemCount,
					u.EstimatedTotalCount, bytesize.Format(u.SyncedBytes), u.SkippedItemCount, orDash(u.DataConsistencyScore),
					fmtTime(u.LastSuccessfulSyncTime), orDash(u.ErrorReason))
			}
		})
	})
}

func userGetCmd() *cobra.Command {
	c := &cobra.Command{Use: "get EMAIL", Short: "one user: status, figures, durations, score and the last error", Args: exactArgs(1, "one user email address")}
	return withAPI(c, outViews, func(a *apiCall, args []string) error {
		var u migrate.UserView
		return a.get("/v1/users/"+httpapi.PathEscape(args[0]), &u, func(tw *tabwriter.Writer) {
			eta := "-"
			if u.EstimatedSecondsLeft != nil {
				eta = (time.Duration(*u.EstimatedSecondsLeft) * time.Second).String()
			}
			rows := [][2]string{
				{"EmailAddress", u.EmailAddress}, {"BatchId", u.BatchId}, {"UserName", u.UserName}, {"Status", string(u.Status)},
				{"EstimatedTotalCount", strconv.FormatInt(u.EstimatedTotalCount, 10)}, {"EstimatedTotalSize", bytesize.Format(u.EstimatedTotalSize)},
				{"SyncedItemCount", strconv.FormatInt(u.SyncedItemCount, 10)}, {"SyncedBytes", bytesize.Format(u.SyncedBytes)},
				{"SkippedItemCount", strconv.FormatInt(u.SkippedItemCount, 10)},
				{"Rate", fmt.Sprintf("%.1f items/s, %s/s", u.ItemsPerSecond, bytesize.Format(int64(u.BytesPerSecond)))}, {"ETA", eta},
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
	})
}

func userSkippedCmd() *cobra.Command {
	c := &cobra.Command{Use: "skipped EMAIL", Short: "skipped items: folder, date, subject, size, reason", Args: exactArgs(1, "one user email address")}
	return withAPI(c, outViewsCSV, func(a *apiCall, args []string) error {
		header := []string{"Folder", "Date", "Subject", "Size", "Reason", "Approved", "Message"}
		return getList(a, "/v1/users/"+httpapi.PathEscape(args[0])+"/skipped", header, func(it model.SkippedItem) []string {
			d := ""
			if !it.Date.IsZero() {
				d = it.Date.Format(time.RFC3339)
			}
			return []string{it.Folder, d, it.Subject, strconv.FormatInt(it.Size, 10), it.Reason, strconv.FormatBool(it.Approved), it.Message}
		}, func(tw *tabwriter.Writer, items []model.SkippedItem) {
			fmt.Fprintln(tw, "FOLDER\tDATE\tSIZE\tREASON\tAPPROVED\tSUBJECT")
			for _, it := range items {
				d := "-"
				if !it.Date.IsZero() {
					d = it.Date.Format(time.DateOnly)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\t%s\n", it.Folder, d, bytesize.Format(it.Size), it.Reason, it.Approved, it.Subject)
			}
		})
	})
}

func userVerifyCmd() *cobra.Command {
	c := &cobra.Command{Use: "verify EMAIL", Short: "compare the source and the target now, folder by folder, by source key; exit 1 on a difference",
		Args: exactArgs(1, "one user email address")}
	return withAPI(c, outViews, func(a *apiCall, args []string) error {
		var raw json.RawMessage
		if err := a.Do(a.ctx, "POST", "/v1/users/"+httpapi.PathEscape(args[0])+"/verify", nil, &raw); err != nil {
			return err
		}
		var v migrate.Verification
		if err := show(a.out, a.output, raw, &v, func(tw *tabwriter.Writer) {
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
		if a.output != "table" {
			_ = json.Unmarshal(raw, &v)
		}
		if len(v.Differences) > 0 {
			return exitError{1}
		}
		return nil
	})
}

// userActionCmd is syncnow, stop or approve.
func userActionCmd(action, short string) *cobra.Command {
	c := &cobra.Command{Use: action + " EMAIL", Short: short, Args: exactArgs(1, "one user email address")}
	return withAPI(c, nil, func(a *apiCall, args []string) error {
		var res httpapi.CountResult
		if err := a.Do(a.ctx, "POST", "/v1/users/"+httpapi.PathEscape(args[0])+"/"+action, nil, &res); err != nil {
			return err
		}
		if action == "approve" {
			fmt.Fprintf(a.out, "%d skipped items approved\n", res.Count)
		} else {
			fmt.Fprintf(a.out, "user %s: %s requested\n", args[0], action)
		}
		return nil
	})
}

func userRemoveCmd() *cobra.Command {
	c := &cobra.Command{Use: "remove EMAIL", Short: "delete one user's state; mail already copied stays", Args: exactArgs(1, "one user email address")}
	return withAPI(c, nil, func(a *apiCall, args []string) error {
		if err := a.Do(a.ctx, "DELETE", "/v1/users/"+httpapi.PathEscape(args[0]), nil, nil); err != nil {
			return err
		}
		fmt.Fprintf(a.out, "user %s removed (mail already in the target is kept)\n", args[0])
		return nil
	})
}
