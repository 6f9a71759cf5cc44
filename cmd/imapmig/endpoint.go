package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/migrate/bytesize"
	"github.com/imapmig/imapmig/migrate/httpapi"
	"github.com/imapmig/imapmig/migrate/model"
)

func endpointCmd() *cobra.Command {
	return group("endpoint", "IMAP endpoints from the config (talks to the daemon)", endpointListCmd(), endpointTestCmd())
}

func endpointListCmd() *cobra.Command {
	c := &cobra.Command{Use: "list", Short: "the endpoints and their connection limits", Args: cobra.NoArgs}
	return withAPI(c, outViews, func(a *apiCall, _ []string) error {
		var eps []model.Endpoint
		return a.get("/v1/endpoints", &eps, func(tw *tabwriter.Writer) {
			fmt.Fprintln(tw, "NAME\tHOST\tPORT\tSECURITY\tAUTH\tMAX INITIAL\tMAX INCREMENTAL")
			for _, e := range eps {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%d\t%d\n", e.Name, e.Host, e.Port, e.Security, e.Auth, e.MaxConcurrentMigrations, e.MaxConcurrentIncrementalSyncs)
			}
		})
	})
}

func endpointTestCmd() *cobra.Command {
	var user, username, userRoot string
	c := &cobra.Command{
		Use:   "test NAME",
		Short: "a test login on the endpoint; exit 1 when it fails",
		Long: `A test login on the endpoint; exit 1 when it fails. By default it logs in
as the endpoint's first migration user (or --user EMAIL of a batch). With
--username it logs in as any account, before a batch exists: the password
is asked for on a terminal or read from the first line of standard input
(echo "$PW" | imapmig endpoint test NAME --username U), never from a flag.`,
		Args: exactArgs(1, "one endpoint name"),
	}
	c.Flags().StringVar(&user, "user", "", "migration user (in a batch) whose credentials to test with (default: the endpoint's first user)")
	c.Flags().StringVar(&username, "username", "", "IMAP login name to test with; the password comes from standard input or a prompt")
	c.Flags().StringVar(&userRoot, "user-root", "", "with --username: the folder under which the mailbox lives (the CSV's UserRoot)")
	return withAPI(c, outViews, func(a *apiCall, args []string) error {
		path := "/v1/endpoints/" + httpapi.PathEscape(args[0]) + "/test"
		var body any
		switch {
		case username != "" && user != "":
			return errors.New("endpoint test: give --user or --username, not both")
		case username != "":
			pw, err := readPassword(a, fmt.Sprintf("IMAP password for %s: ", username))
			if err != nil {
				return err
			}
			body = httpapi.TestEndpointRequest{UserName: username, Password: pw, UserRoot: userRoot}
		case user != "":
			path += "?user=" + httpapi.QueryEscape(user)
		}
		var raw json.RawMessage
		if err := a.Do(a.ctx, "POST", path, body, &raw); err != nil {
			return err
		}
		var res migrate.EndpointTest
		if err := json.Unmarshal(raw, &res); err != nil {
			return err
		}
		if err := show(a.out, a.output, raw, &res, func(tw *tabwriter.Writer) {
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
	})
}

func statsCmd() *cobra.Command {
	c := &cobra.Command{Use: "stats", Short: "totals over all batches", Args: cobra.NoArgs}
	return withAPI(c, outViews, func(a *apiCall, _ []string) error {
		var s migrate.Stats
		return a.get("/v1/stats", &s, func(tw *tabwriter.Writer) {
			fmt.Fprintf(tw, "Batches:\t%d\n", s.Batches)
			for _, st := range slices.Sorted(mapKeys(s.BatchesByStatus)) {
				fmt.Fprintf(tw, "  %s:\t%d\n", st, s.BatchesByStatus[model.BatchStatus(st)])
			}
			fmt.Fprintf(tw, "Users:\t%d\n", s.Users)
			for _, st := range slices.Sorted(mapKeys(s.UsersByStatus)) {
				fmt.Fprintf(tw, "  %s:\t%d\n", st, s.UsersByStatus[model.UserStatus(st)])
			}
			fmt.Fprintf(tw, "SyncedItemCount:\t%d\n", s.SyncedItemCount)
			fmt.Fprintf(tw, "SyncedBytes:\t%s\n", bytesize.Format(s.SyncedBytes))
			fmt.Fprintf(tw, "SkippedItemCount:\t%d\n", s.SkippedItemCount)
			fmt.Fprintf(tw, "EstimatedTotalCount:\t%d\n", s.EstimatedTotalCount)
			fmt.Fprintf(tw, "MissingItemCount:\t%d\n", s.MissingItemCount)
			fmt.Fprintf(tw, "NotSyncedCount:\t%d\n", s.NotSyncedCount)
			fmt.Fprintf(tw, "DataConsistencyScore:\t%s\n", orDash(s.DataConsistencyScore))
		})
	})
}

// mapKeys returns a map's keys as strings, for sorting.
func mapKeys[K ~string, V any](m map[K]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(string(k)) {
				return
			}
		}
	}
}
