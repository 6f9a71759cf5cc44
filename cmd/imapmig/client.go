package main

import (
	"bufio"
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
	"golang.org/x/term"

	"github.com/imapmig/imapmig/migrate/config"
	"github.com/imapmig/imapmig/migrate/httpapi"
)

// clientFlags are the flags every daemon-talking command takes.
type clientFlags struct {
	config  string
	api     string
	output  string
	outputs []string // the formats this command can print
}

func (c *clientFlags) register(fs *pflag.FlagSet, outputs []string) {
	c.outputs = outputs
	fs.StringVar(&c.config, "config", "", "the daemon's config file: its listen address and data_dir (api.token) (default $IMAPMIG_CONFIG, else ./imapmig.yaml)")
	fs.StringVar(&c.api, "api", "", "daemon API URL (default $IMAPMIG_API_URL, else from the config, else http://"+config.DefaultListen+")")
	if len(outputs) > 1 {
		fs.StringVarP(&c.output, "output", "o", "table", "output format: "+strings.Join(outputs, ", "))
	} else {
		c.output = "table"
	}
}

// checkOutput refuses an output format this command cannot print.
func (c *clientFlags) checkOutput() error {
	if !slices.Contains(c.outputs, c.output) {
		return fmt.Errorf("-o wants %s, got %q", strings.Join(c.outputs, ", "), c.output)
	}
	return nil
}

func (c *clientFlags) client() (*httpapi.Client, error) {
	cfgPath := cmp.Or(c.config, os.Getenv("IMAPMIG_CONFIG"))
	if cfgPath == "" {
		if _, err := os.Stat("imapmig.yaml"); err == nil {
			cfgPath = "imapmig.yaml"
		}
	}
	base, dataDir, caFile := cmp.Or(c.api, os.Getenv("IMAPMIG_API_URL")), "", ""
	if cfgPath != "" {
		cfg, err := config.Load(cfgPath)
		if err != nil {
			return nil, err
		}
		dataDir, caFile = cfg.DataDir, cfg.APICAFile()
		if base == "" {
			host, port, _ := net.SplitHostPort(cfg.Listen)
			if host == "" || host == "0.0.0.0" || host == "::" {
				host = "127.0.0.1"
			}
			base = cfg.APIScheme() + "://" + net.JoinHostPort(host, port)
		}
	}
	hc, err := httpapi.HTTPClient(caFile)
	if err != nil {
		return nil, err
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
	return &httpapi.Client{BaseURL: base, Token: token, HTTP: hc}, nil
}

// apiCall is what a daemon-talking command runs with: the API client, the
// chosen output format, the command's context and its output.
type apiCall struct {
	*httpapi.Client
	ctx    context.Context
	output string
	out    io.Writer
	errOut io.Writer
	in     io.Reader
}

// get fetches path and prints it with show.
func (a *apiCall) get(path string, v any, table func(*tabwriter.Writer)) error {
	var raw json.RawMessage
	if err := a.Do(a.ctx, "GET", path, nil, &raw); err != nil {
		return err
	}
	return show(a.out, a.output, raw, v, table)
}

// getList is get for a list that -o csv prints too: csvHeader and csvRow
// are the CSV's columns and one element's cells, table the table of all.
func getList[T any](a *apiCall, path string, csvHeader []string, csvRow func(T) []string, table func(*tabwriter.Writer, []T)) error {
	var raw json.RawMessage
	if err := a.Do(a.ctx, "GET", path, nil, &raw); err != nil {
		return err
	}
	var list []T
	if a.output == "csv" {
		if err := json.Unmarshal(raw, &list); err != nil {
			return err
		}
		var rows [][]string
		for _, x := range list {
			rows = append(rows, csvRow(x))
		}
		return writeCSV(a.out, csvHeader, rows)
	}
	return show(a.out, a.output, raw, &list, func(tw *tabwriter.Writer) { table(tw, list) })
}

// withAPI makes c a daemon-talking command: it adds the client flags (and
// -o with the given formats; the first is the default) and runs fn with a
// connected client.
func withAPI(c *cobra.Command, outputs []string, fn func(a *apiCall, args []string) error) *cobra.Command {
	var cf clientFlags
	cf.register(c.Flags(), outputs)
	if len(outputs) == 0 {
		cf.outputs = []string{"table"}
	}
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if err := cf.checkOutput(); err != nil {
			return err
		}
		cl, err := cf.client()
		if err != nil {
			return err
		}
		return fn(&apiCall{Client: cl, ctx: cmd.Context(), output: cf.output, out: cmd.OutOrStdout(), in: cmd.InOrStdin()}, args)
	}
	return c
}

// Output format sets.
var (
	outTable    = []string{"table"}
	outViews    = []string{"table", "json", "yaml"}
	outViewsCSV = []string{"table", "json", "yaml", "csv"}
)

// show prints v as JSON (-o json), YAML (-o yaml) or with the table function.
func show(w io.Writer, output string, raw json.RawMessage, v any, table func(*tabwriter.Writer)) error {
	switch output {
	case "json", "yaml":
		var buf any
		if err := json.Unmarshal(raw, &buf); err != nil {
			return err
		}
		if output == "yaml" {
			enc := yaml.NewEncoder(w)
			enc.SetIndent(2)
			if err := enc.Encode(buf); err != nil {
				return err
			}
			return enc.Close()
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

// writeCSV prints a header and rows as CSV (-o csv).
func writeCSV(w io.Writer, header []string, rows [][]string) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(header)
	for _, r := range rows {
		_ = cw.Write(r)
	}
	cw.Flush()
	return cw.Error()
}

func fmtTime(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04")
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

// confirm asks on a terminal before a destructive action; --yes, or a
// standard input that is not a terminal (scripts), skips the question.
func confirm(a *apiCall, yes bool, question string) error {
	if yes {
		return nil
	}
	f, ok := a.in.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	fmt.Fprintf(a.out, "%s [y/N] ", question)
	line, _ := bufio.NewReader(f).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	return errors.New("not confirmed (give --yes to skip the question)")
}

// readPassword asks for a password on a terminal (without echo), or reads
// the first line of standard input when it is not one (scripts: a pipe or
// a file). A password is never taken from a flag: flags end up in shell
// histories and process lists.
func readPassword(a *apiCall, prompt string) (string, error) {
	if f, ok := a.in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(a.errOut, prompt)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(a.errOut)
		if err != nil {
			return "", err
		}
		return string(b), nil
	}
	line, err := bufio.NewReader(a.in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("no password on standard input (pipe it in, or run on a terminal to be asked)")
	}
	return pw, nil
}
