package main

import (
	"bufio"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/cloudlabs/cloudlabs/internal/measure/workload"
)

func init() {
	var (
		spec workload.Spec
		out  string
	)
	cmd := &cobra.Command{
		Use:   "workload [--requests 500] [--adds 100] [--seed S] > workload.csv",
		Short: "Write the fixed, shuffled list of phone-book requests as CSV",
		Long: `Writes --requests rows in seeded random order: --adds of them add new
contacts, the rest get contacts that 'labctl seed' loaded with the same --seed
and --contacts, the popular ones more often (Zipf with exponent --zipf > 1).
Same arguments, same bytes. Columns (header row included, JMeter's CSV Data
Set Config reads it): method,path,body,name,number.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rows, err := workload.Build(spec)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if out != "" && out != "-" {
				f, err := os.Create(out)
				if err != nil {
					return fmt.Errorf("create workload: %w", err)
				}
				defer f.Close()
				w = f
			}
			bw := bufio.NewWriter(w)
			if err := workload.WriteCSV(bw, rows); err != nil {
				return err
			}
			return bw.Flush()
		},
	}
	f := cmd.Flags()
	f.IntVar(&spec.Requests, "requests", 500, "rows in total")
	f.IntVar(&spec.Adds, "adds", 100, "rows that add a new contact (the rest are gets)")
	f.Uint64Var(&spec.Seed, "seed", 1, "random seed; use the one given to labctl seed")
	f.IntVar(&spec.Contacts, "contacts", 10000, "how many contacts labctl seed loaded")
	f.Float64Var(&spec.Zipf, "zipf", 1.1, "Zipf exponent s (> 1) of get popularity; larger is more skewed")
	f.StringVarP(&out, "out", "o", "", "write to this file instead of stdout")
	root.AddCommand(cmd)
}
