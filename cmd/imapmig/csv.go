package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/imapmig/imapmig/csvbatch"
)

// cmdCSV is `imapmig csv validate FILE`: offline, exit 0 when the file is
// valid and 1 with every problem (line-numbered) otherwise.
func cmdCSV(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "validate" {
		return errors.New("csv: want `csv validate FILE`")
	}
	fs := flag.NewFlagSet("csv validate", flag.ContinueOnError)
	pos, err := parseFlags(fs, args[1:])
	if err != nil {
		return err
	}
	if err := needArgs(pos, 1, "one CSV file"); err != nil {
		return fmt.Errorf("csv validate: %w", err)
	}
	res, err := csvbatch.ParseFile(pos[0])
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", pos[0], err)
		return exitError{1}
	}
	for _, p := range res.Problems {
		fmt.Fprintf(stderr, "%s: %s\n", pos[0], p.Error())
	}
	if !res.Valid() {
		fmt.Fprintf(stderr, "%s: %d problem(s) in %d data rows\n", pos[0], len(res.Problems), res.Rows)
		return exitError{1}
	}
	fmt.Fprintf(stdout, "%s: valid, %d users\n", pos[0], len(res.Users))
	return nil
}
