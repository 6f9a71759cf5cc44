package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/imapmig/imapmig/cutover"
	"github.com/imapmig/imapmig/migrate/httpapi"
)

func cutoverCmd() *cobra.Command {
	return group("cutover", "DNS and tenant checks, forwarding list and checklist for the MX switch (talks to the daemon)",
		cutoverCheckCmd(), cutoverPlanCmd(), cutoverForwardingCmd())
}

// cutoverFlags are check's and plan's flags.
type cutoverFlags struct {
	req    httpapi.CutoverRequest
	strict bool
}

func (f *cutoverFlags) register(c *cobra.Command) {
	fs := c.Flags()
	fs.StringVar(&f.req.Domain, "domain", "", "the mail domain to check (required)")
	fs.StringVar(&f.req.Tenant, "tenant", "", "config tenant: also check through Graph that the domain is verified, DNS matches what Microsoft expects, and every mailbox on the domain has its onmicrosoft.com address")
	fs.StringVar(&f.req.Resolver, "resolver", "", "DNS resolver HOST:PORT the daemon asks (default the config's dns_resolver, else the system resolver)")
}

func (f *cutoverFlags) validate(cmd string) error {
	if f.req.Domain == "" {
		return fmt.Errorf("cutover %s: --domain is required", cmd)
	}
	return nil
}

// post validates the flags and asks the daemon for /v1/cutover/<verb>.
func (f *cutoverFlags) post(a *apiCall, verb string) (json.RawMessage, error) {
	if err := f.validate(verb); err != nil {
		return nil, err
	}
	var raw json.RawMessage
	if err := a.Do(a.ctx, "POST", "/v1/cutover/"+verb, f.req, &raw); err != nil {
		return nil, err
	}
	return raw, nil
}

func cutoverCheckCmd() *cobra.Command {
	var f cutoverFlags
	c := &cobra.Command{
		Use:   "check --domain D [--tenant T] [--resolver HOST:PORT]",
		Short: "judge MX, SPF, autodiscover, DKIM, DMARC (and the tenant) for the switch; exit 1 on any fail",
		Long: `Looks up and judges the domain's DNS for the move to Exchange Online, each
finding ok, warn or fail with the evidence and the advice: MX (old provider,
Exchange Online or mixed) and its TTL; SPF (one record, the Exchange include,
the old provider kept while mail is split, -all, at most 10 DNS lookups
counted through every include); autodiscover; DKIM selector1/selector2;
DMARC. With --tenant, through Graph: the domain is verified, DNS matches the
records Microsoft expects, and every mailbox of the batches on the domain has
its @tenant.onmicrosoft.com address.

A lookup that times out or gets SERVFAIL is a fail saying so, never "no
record". Exit status: 0 when nothing failed (warnings included; --strict
makes a warning exit 1 too), 1 when a check failed.`,
		Args: cobra.NoArgs,
	}
	f.register(c)
	c.Flags().BoolVar(&f.strict, "strict", false, "exit 1 on warnings too")
	return withAPI(c, outViews, func(a *apiCall, _ []string) error {
		raw, err := f.post(a, "check")
		if err != nil {
			return err
		}
		var r cutover.Report
		if err := show(a.out, a.output, raw, &r, func(tw *tabwriter.Writer) { printReport(tw, &r) }); err != nil {
			return err
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			return err
		}
		if r.Status == cutover.Fail || f.strict && r.Status == cutover.Warn {
			return exitError{1}
		}
		return nil
	})
}

// printReport prints a report's findings, each with its advice below.
func printReport(w io.Writer, r *cutover.Report) {
	fmt.Fprintf(w, "Domain %s: MX %s, TTL %d s (asked %s)\n", r.Domain, r.MXState, r.MXTTL, r.Resolver)
	width := 0
	for _, f := range r.Findings {
		width = max(width, len(f.Check))
	}
	for _, f := range r.Findings {
		fmt.Fprintf(w, "%-4s  %-*s  %s\n", f.Status, width, f.Check, f.Evidence)
		if f.Advice != "" {
			fmt.Fprintf(w, "      %-*s  → %s\n", width, "", f.Advice)
		}
	}
	fmt.Fprintf(w, "Result: %s\n", r.Status)
}

func cutoverPlanCmd() *cobra.Command {
	var f cutoverFlags
	c := &cobra.Command{
		Use:   "plan --domain D [--tenant T] [--resolver HOST:PORT]",
		Short: "the ordered cutover checklist: what is done (from the check) and what is next",
		Long: `Runs the check and prints the cutover checklist in order, each step done,
todo or verify (imapmig cannot see it), the next one marked:
lower the MX TTL → forward or dual delivery → final SyncNow → switch MX →
SyncNow after the switch → complete → raise the TTL again.`,
		Args: cobra.NoArgs,
	}
	f.register(c)
	return withAPI(c, outViews, func(a *apiCall, _ []string) error {
		raw, err := f.post(a, "plan")
		if err != nil {
			return err
		}
		var p cutover.Plan
		return show(a.out, a.output, raw, &p, func(tw *tabwriter.Writer) {
			fmt.Fprintf(tw, "Cutover plan for %s (MX %s, TTL %d s)\n", p.Domain, p.Report.MXState, p.Report.MXTTL)
			for _, s := range p.Steps {
				mark := string(s.State)
				if s.Next {
					mark += " ←next"
				}
				fmt.Fprintf(tw, "%d.\t%s\t%s\t%s\n", s.N, s.Title, mark, s.Detail)
			}
		})
	})
}

func cutoverForwardingCmd() *cobra.Command {
	var batch, routing string
	c := &cobra.Command{
		Use:   "forwarding --batch NAME [--routing-domain D]",
		Short: "source address → user@tenant.onmicrosoft.com for each user, to set as forwarding at the old provider",
		Long: `Lists, for every user of the batch, the forward to set at the old provider
while users are split: the source address and the mailbox's address on the
routing domain (the tenant's onmicrosoft.com domain, read from Graph, or
--routing-domain). A Note says when the mailbox lacks that address.`,
		Args: cobra.NoArgs,
	}
	c.Flags().StringVar(&batch, "batch", "", "batch name (required)")
	c.Flags().StringVar(&routing, "routing-domain", "", "routing domain (default the tenant's onmicrosoft.com domain, from Graph)")
	return withAPI(c, []string{"table", "csv", "json", "yaml"}, func(a *apiCall, _ []string) error {
		if batch == "" {
			return errors.New("cutover forwarding: --batch is required")
		}
		path := "/v1/batches/" + httpapi.PathEscape(batch) + "/forwarding"
		if routing != "" {
			path += "?routingDomain=" + url.QueryEscape(routing)
		}
		var raw json.RawMessage
		if err := a.Do(a.ctx, "GET", path, nil, &raw); err != nil {
			return err
		}
		var f cutover.Forwarding
		if a.output == "csv" {
			if err := json.Unmarshal(raw, &f); err != nil {
				return err
			}
			rows := make([][]string, 0, len(f.Rows))
			for _, r := range f.Rows {
				rows = append(rows, []string{r.Source, r.Target, r.Note})
			}
			return writeCSV(a.out, []string{"Source", "ForwardTo", "Note"}, rows)
		}
		return show(a.out, a.output, raw, &f, func(tw *tabwriter.Writer) {
			fmt.Fprintln(tw, "SOURCE\tFORWARD TO\tNOTE")
			for _, r := range f.Rows {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Source, r.Target, strings.TrimSpace(r.Note))
			}
		})
	})
}
