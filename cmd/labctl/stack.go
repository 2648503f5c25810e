package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	"github.com/spf13/cobra"

	"github.com/cloudlabs/cloudlabs/components/program"
	"github.com/cloudlabs/cloudlabs/internal/config/stackconfig"
	"github.com/cloudlabs/cloudlabs/internal/config/stackfile"
	"github.com/cloudlabs/cloudlabs/internal/machine/artifact"
	"github.com/cloudlabs/cloudlabs/internal/system"
)

// stackFlags are the flags every stack command takes.
type stackFlags struct {
	stack     string
	stacksDir string
	config    []string // -c key=value
	// deploy: the command deploys (up), so the config must be complete
	// for a real deployment (stackconfig.Parse), not only valid.
	deploy bool
	// noPlugin: the command reads state only (outputs) and needs no
	// provider plugin built.
	noPlugin bool
}

// Help of -c, by whether the command saves the values (as pulumi's -c
// does) or uses them for this run only.
const (
	configSavedHelp  = "set a config value (key=value) and save it into stacks/Pulumi.<stack>.yaml before running, as pulumi's -c does"
	configOneRunHelp = "use a config value (key=value) for this run only; the stack file is not written"
)

// register adds the flags; saves says whether -c values are saved into
// the stack's file (commands that run the Pulumi engine) or used for this
// run only (offline commands).
func (f *stackFlags) register(cmd *cobra.Command, saves bool) {
	cmd.Flags().StringVarP(&f.stack, "stack", "s", "local", "the stack: its config is stacks/Pulumi.<stack>.yaml")
	cmd.Flags().StringVar(&f.stacksDir, "stacks-dir", os.Getenv("CLOUDLABS_STACKS_DIR"), "folder of the stack files (default: the repository's stacks/; env CLOUDLABS_STACKS_DIR)")
	help := configOneRunHelp
	if saves {
		help = configSavedHelp
	}
	cmd.Flags().StringArrayVarP(&f.config, "config", "c", nil, help)
}

// localPassphrase encrypts the local twin's secrets when
// PULUMI_CONFIG_PASSPHRASE is unset: the twin's state never leaves this
// machine, and a fixed default keeps `labctl up` a single command. Cloud
// stacks must set their own.
const localPassphrase = "cloudlabs-local-twin"

// workspaceEnv gathers what the Pulumi CLI and the program need.
type env struct {
	root      string // the repository
	stackFile string
	pulumiBin string
	pluginDir string
	cfg       stackconfig.Config
	vars      map[string]string
}

// prepare finds the repository, the Pulumi CLI and the state backend, builds
// the provider plugin and persists -c values. Progress goes to stderr.
func prepare(ctx context.Context, f *stackFlags) (*env, error) {
	root, file, values, changes, err := stackValues(f)
	if err != nil {
		return nil, err
	}
	// Bad values fail here, before the file is written, a plugin built or
	// state touched: a rejected -c leaves the stack as it was.
	cfg, err := stackConfig(file, values, f.deploy, os.Stderr)
	if err != nil {
		return nil, err
	}
	if len(changes) > 0 {
		if err := stackfile.Set(file, changes); err != nil {
			return nil, err
		}
	}
	bin, err := system.Tool("pulumi")
	if err != nil {
		return nil, err
	}
	pluginDir := filepath.Join(root, ".labctl", "bin")
	if !f.noPlugin {
		if err := buildPlugin(ctx, root, filepath.Join(pluginDir, "pulumi-resource-cloudlabs")); err != nil {
			return nil, err
		}
	}
	backend := os.Getenv("PULUMI_BACKEND_URL")
	if backend == "" {
		dir := filepath.Join(stateHome(), "cloudlabs", "pulumi")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
		backend = "file://" + dir
	}
	pass, ok := os.LookupEnv("PULUMI_CONFIG_PASSPHRASE")
	if !ok && os.Getenv("PULUMI_CONFIG_PASSPHRASE_FILE") == "" {
		if f.stack != "local" {
			return nil, fmt.Errorf("stack %s: set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) to the passphrase of its secrets", f.stack)
		}
		pass = localPassphrase
	}
	vars := map[string]string{
		"PATH":                     filepath.Dir(bin) + string(os.PathListSeparator) + os.Getenv("PATH"),
		"PULUMI_BACKEND_URL":       backend,
		"PULUMI_SKIP_UPDATE_CHECK": "true",
		"CLOUDLABS_ROOT":           root,
	}
	if pass != "" || ok {
		vars["PULUMI_CONFIG_PASSPHRASE"] = pass
	}
	// The inline program runs in this process: it finds the repository and
	// the plugin through the same variables.
	for k, v := range vars {
		os.Setenv(k, v)
	}
	return &env{root: root, stackFile: file, pulumiBin: bin, pluginDir: pluginDir, cfg: cfg, vars: vars}, nil
}

// stackConfig validates a stack's values: for a deployment (deploy), all
// it needs must be set; otherwise what only a deployment needs is a
// warning, written to warn.
func stackConfig(file string, values map[string]stackfile.Value, deploy bool, warn io.Writer) (stackconfig.Config, error) {
	get := func(k string) (string, bool) { v, ok := values[k]; return v.Value, ok && v.Secure == "" }
	parse := stackconfig.ParsePlan
	if deploy {
		parse = stackconfig.Parse
	}
	cfg, err := parse(get)
	if err != nil {
		return stackconfig.Config{}, fmt.Errorf("%s: %w", file, err)
	}
	for _, msg := range cfg.NotReady() {
		fmt.Fprintf(warn, "labctl: warning: %s (this command goes on; up will refuse)\n", msg)
	}
	return cfg, nil
}

// buildPlugin builds the local provider plugin into out. go build relinks
// nothing when it is up to date (it takes a second to find out), so this
// speaks only when the plugin changed.
func buildPlugin(ctx context.Context, root, out string) error {
	before, _ := artifact.FileSHA256(out) // a missing plugin is one to build
	build := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/pulumi-resource-cloudlabs")
	build.Dir = root
	if b, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build the provider plugin: %w\n%s", err, b)
	}
	after, err := artifact.FileSHA256(out)
	if err != nil {
		return fmt.Errorf("build the provider plugin: %w", err)
	}
	if before != after {
		logf("built the local provider plugin (%s)", out)
	}
	return nil
}

// locateStack finds the repository and the stack's config file.
func locateStack(f *stackFlags) (root, file string, err error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", "", err
	}
	if root, err = system.ModuleRoot(wd); err != nil {
		return "", "", err
	}
	stacksDir := f.stacksDir
	if stacksDir == "" {
		stacksDir = filepath.Join(root, "stacks")
	}
	if file, err = stackfile.Path(stacksDir, f.stack); err != nil {
		return "", "", err
	}
	if _, err := os.Stat(file); err != nil {
		return "", "", fmt.Errorf("stack %s: no config file %s (the stacks are the Pulumi.<stack>.yaml files in %s)", f.stack, file, stacksDir)
	}
	return root, file, nil
}

// openStack selects (or creates) the stack with the program inline.
func openStack(ctx context.Context, e *env, name string) (auto.Stack, error) {
	cmd, err := auto.NewPulumiCommand(&auto.PulumiCommandOptions{Root: filepath.Dir(filepath.Dir(e.pulumiBin))})
	if err != nil {
		return auto.Stack{}, fmt.Errorf("pulumi CLI at %s: %w (reinstall it with scripts/install-pulumi.sh)", e.pulumiBin, err)
	}
	work := filepath.Join(e.root, ".labctl", "work")
	if err := os.MkdirAll(work, 0o755); err != nil {
		return auto.Stack{}, err
	}
	proj := workspace.Project{
		Name:    stackfile.Project,
		Runtime: workspace.NewProjectRuntimeInfo("go", nil),
		// The local platform's provider, built from this repository.
		Plugins: &workspace.Plugins{Providers: []workspace.PluginOptions{{Name: "cloudlabs", Path: e.pluginDir}}},
	}
	s, err := auto.UpsertStackInlineSource(ctx, name, stackfile.Project, program.Run,
		auto.Project(proj), auto.WorkDir(work), auto.Pulumi(cmd), auto.EnvVars(e.vars), auto.SecretsProvider("passphrase"))
	if err != nil {
		return auto.Stack{}, err
	}
	return s, syncConfig(ctx, s, e.stackFile)
}

// syncConfig makes the workspace's copy of the stack config equal to
// stacks/Pulumi.<stack>.yaml: the Automation API ignores stackConfigDir, so
// labctl carries the file over itself, keys removed from it included.
func syncConfig(ctx context.Context, s auto.Stack, file string) error {
	values, err := stackfile.Load(file)
	if err != nil {
		return err
	}
	ws := s.Workspace()
	// A stack made from another checkout (or before .labctl/ was removed)
	// has no settings file in this workspace yet: start from none.
	settings := &workspace.ProjectStack{}
	if _, err := os.Stat(filepath.Join(ws.WorkDir(), "Pulumi."+s.Name()+".yaml")); err == nil {
		if settings, err = ws.StackSettings(ctx, s.Name()); err != nil {
			return err
		}
	}
	settings.Config = config.Map{}
	for k, v := range values {
		if v.Secure != "" {
			return fmt.Errorf("%s: %s is encrypted for the Pulumi CLI; labctl passes plain values only: run this stack with `pulumi`, or keep the value in an environment variable", file, k)
		}
		key, err := config.ParseKey(k)
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		settings.Config[key] = config.NewValue(v.Value)
	}
	return ws.SaveStackSettings(ctx, s.Name(), settings)
}

// stackValues finds the stack's file and lays the -c values over its
// config; changes are the -c values alone, for the commands that persist
// them.
func stackValues(f *stackFlags) (root, file string, values map[string]stackfile.Value, changes map[string]string, err error) {
	if root, file, err = locateStack(f); err != nil {
		return "", "", nil, nil, err
	}
	if changes, err = configPairs(f.config); err != nil {
		return "", "", nil, nil, err
	}
	if values, err = stackfile.Load(file); err != nil {
		return "", "", nil, nil, err
	}
	// A typo in a key would be saved, or ignored, without a word: every
	// key must be one the project declares.
	schema, err := stackconfig.LoadSchema(filepath.Join(root, "Pulumi.yaml"))
	if err != nil {
		return "", "", nil, nil, err
	}
	if err := schema.Check(slices.Collect(maps.Keys(values))); err != nil {
		return "", "", nil, nil, fmt.Errorf("%s: %w", file, err)
	}
	if err := schema.Check(slices.Collect(maps.Keys(changes))); err != nil {
		return "", "", nil, nil, fmt.Errorf("-c: %w", err)
	}
	for k, v := range changes {
		values[k] = stackfile.Value{Value: v}
	}
	return root, file, values, changes, nil
}

// configPairs reads -c key=value flags into fully namespaced keys.
func configPairs(pairs []string) (map[string]string, error) {
	values := map[string]string{}
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("-c %q: want key=value, such as -c fibonacci:nodes=5", p)
		}
		values[stackfile.FullKey(k)] = v
	}
	return values, nil
}

func stateHome() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return d
	}
	h, _ := os.UserHomeDir()
	return filepath.Join(h, ".local", "state")
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "labctl: "+format+"\n", args...)
}
