package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cloudlabs/cloudlabs/components/program"
	"github.com/cloudlabs/cloudlabs/internal/machine/artifact"
)

func init() { root.AddCommand(newRenderCmd()) }

func newRenderCmd() *cobra.Command {
	var f stackFlags
	var out string
	cmd := &cobra.Command{
		Use:   "render",
		Short: "Write, offline, exactly what every machine of a stack boots with (one file per machine)",
		Long: `render runs the stack's program against offline mocks — no Pulumi CLI,
plugin, credentials or network — and writes each machine's #cloud-config user
data (aws, gcp) or role (local) to --out, one file per machine named after it.
Values the cloud computes (bucket names, addresses) appear as placeholders.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return fmt.Errorf("--out is required: the folder to write the machines' files to")
			}
			// -c values apply to this rendering only; the file is not written.
			root, file, values, _, err := stackValues(&f)
			if err != nil {
				return err
			}
			if _, err := stackConfig(file, values, false, cmd.ErrOrStderr()); err != nil {
				return err
			}
			os.Setenv("CLOUDLABS_ROOT", root)
			mocks, err := program.Offline(f.stack, values, artifact.Build)
			if err != nil {
				return fmt.Errorf("render %s: %w", f.stack, err)
			}
			files, err := program.BootFiles(mocks)
			if err != nil {
				return fmt.Errorf("render %s: %w", f.stack, err)
			}
			if err := os.MkdirAll(out, 0o755); err != nil {
				return err
			}
			names := make([]string, 0, len(files))
			for n := range files {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				ext := ".yaml"
				if !strings.HasPrefix(files[n], "#cloud-config") {
					ext = ".json"
				}
				p := filepath.Join(out, n+ext)
				if err := os.WriteFile(p, []byte(files[n]), 0o644); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%-40s %6d bytes\n", p, len(files[n]))
			}
			return nil
		},
	}
	f.register(cmd, false)
	cmd.Flags().StringVarP(&out, "out", "o", "", "folder to write one file per machine into")
	return cmd
}
