package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/imapmig/imapmig/csvbatch"
)

func csvCmd() *cobra.Command {
	validate := &cobra.Command{
		Use:   "validate FILE",
		Short: "check a migration CSV offline; exit 0 when valid, 1 with line-numbered problems",
		Args:  exactArgs(1, "one CSV file"),
		RunE: func(c *cobra.Command, args []string) error {
			stdout, stderr := c.OutOrStdout(), c.ErrOrStderr()
			path := args[0]
			res, err := csvbatch.ParseFile(path)
			if err != nil {
				fmt.Fprintf(stderr, "%s: %v\n", path, err)
				return exitError{1}
			}
			for _, p := range res.Problems {
				fmt.Fprintf(stderr, "%s: %s\n", path, p.Error())
			}
			if !res.Valid() {
				fmt.Fprintf(stderr, "%s: %d problem(s) in %d data rows\n", path, len(res.Problems), res.Rows)
				return exitError{1}
			}
			fmt.Fprintf(stdout, "%s: valid, %d users\n", path, len(res.Users))
			return nil
		},
	}
	return group("csv", "migration CSV files (offline)", validate)
}
