// Command manager is the elastic cache pool's control plane: it owns the
// pool's active size (seeded once from --initial-nodes, then kept in
// PostgreSQL), grows and shrinks it through a node group (twin processes,
// EC2 or GCE instances), sets every node's capacity and policy, and serves
// a dashboard and a JSON API behind a token.
//
//	manager [flags]             the web app and API
//	manager autoscale [flags]   the autoscaler: its own process and service
//	manager publish [flags]     on AWS: every slot's statistics to CloudWatch every 5 s
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	awsec2 "github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/cloudlabs/cloudlabs/apps/manager/internal/autoscaler"
	"github.com/cloudlabs/cloudlabs/apps/manager/internal/control"
	"github.com/cloudlabs/cloudlabs/apps/manager/internal/store"
	"github.com/cloudlabs/cloudlabs/apps/manager/internal/web"
	"github.com/cloudlabs/cloudlabs/internal/appkit"
	"github.com/cloudlabs/cloudlabs/internal/pool/autoscale"
	"github.com/cloudlabs/cloudlabs/internal/pool/metrics"
	"github.com/cloudlabs/cloudlabs/internal/pool/metrics/cwstore"
	"github.com/cloudlabs/cloudlabs/internal/pool/metrics/promstore"
	"github.com/cloudlabs/cloudlabs/internal/pool/nodegroup"
	"github.com/cloudlabs/cloudlabs/internal/pool/nodegroup/ec2"
	"github.com/cloudlabs/cloudlabs/internal/pool/nodegroup/gce"
	"github.com/cloudlabs/cloudlabs/internal/pool/nodegroup/twin"
)

func main() {
	appkit.Main("manager", run)
}

type config struct {
	autoscale, publish bool
	gallery            bool

	listen, db, tokenFile, nodeTokenFile string
	slotsFile, group                     string
	region, gceProject, gceZone          string
	prometheus, cwNamespace              string
	targetsFile                          string
	initialNodes, maxNodes               int
	nodeCapacity                         int64
	nodePolicy                           string
	joinTimeout                          time.Duration
	interval, window                     time.Duration
}

func parse(args []string, stderr io.Writer) (config, error) {
	var c config
	if len(args) > 0 && args[0] == "autoscale" {
		c.autoscale, args = true, args[1:]
	} else if len(args) > 0 && args[0] == "publish" {
		c.publish, args = true, args[1:]
	}
	fs := flag.NewFlagSet("manager", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.listen, "listen", ":8090", "address to serve the dashboard and API on (manager only)")
	fs.StringVar(&c.db, "db", "", "PostgreSQL URL (postgres://user:pass@host:5432/db); PG* variables fill what it leaves out")
	fs.StringVar(&c.tokenFile, "token-file", "", "file holding the manager's API and sign-in token (manager only)")
	fs.StringVar(&c.nodeTokenFile, "cachenode-token-file", "", "file holding the cachenodes' admin token (their --admin-token-file)")
	fs.StringVar(&c.slotsFile, "slots-file", "", `JSON file listing every slot in ring order: [{"name", "addr", "admin", ...platform fields}]`)
	fs.StringVar(&c.group, "nodegroup", "twin", "where slots run: twin (dir, bind, service), ec2 (instance_id), gce (instance, zone)")
	fs.StringVar(&c.region, "aws-region", "", "AWS region for ec2 and CloudWatch (empty: the SDK's default chain)")
	fs.StringVar(&c.gceProject, "gce-project", "", "GCP project of the pool instances (gce)")
	fs.StringVar(&c.gceZone, "gce-zone", "", "zone of the pool instances (gce)")
	fs.StringVar(&c.prometheus, "prometheus", "", "Prometheus base URL the nodes are scraped into (http://127.0.0.1:9090)")
	fs.StringVar(&c.cwNamespace, "cloudwatch-namespace", "", "CloudWatch namespace the nodes publish to (Cloudlabs/<stack>); instead of --prometheus")
	fs.StringVar(&c.targetsFile, "targets-file", "", "Prometheus file_sd file rewritten with the members on every membership change")
	fs.IntVar(&c.initialNodes, "initial-nodes", 1, "active size at the pool's first start only (cachepool:nodes); the manager owns it thereafter")
	fs.IntVar(&c.maxNodes, "max-nodes", autoscale.MaxPoolSize, "most nodes (cachepool:maxNodes), at most the slot count and 8")
	nodeCap := fs.String("node-capacity", "64MB", "every node's capacity at the first start only (then PUT /api/config)")
	fs.StringVar(&c.nodePolicy, "node-policy", "lru", "every node's eviction policy at the first start only: lru, random, lfu")
	fs.DurationVar(&c.joinTimeout, "join-timeout", 2*time.Minute, "how long a started slot has to answer memcached version before a grow fails")
	fs.BoolVar(&c.gallery, "gallery", false, "a gallery shares the database: delete all data also deletes its images and rows (manager only)")
	fs.DurationVar(&c.interval, "interval", autoscale.DefaultInterval, "time between autoscaler checks (autoscale only)")
	fs.DurationVar(&c.window, "window", autoscale.DefaultWindow, "metrics window each check reads (autoscale only)")
	if err := appkit.Parse(fs, "MANAGER", args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	n, err := parseSize(*nodeCap)
	if err != nil {
		return c, fmt.Errorf("--node-capacity: %w", err)
	}
	c.nodeCapacity = n
	switch {
	case c.db == "":
		return c, errors.New("--db is required")
	case c.slotsFile == "":
		return c, errors.New("--slots-file is required")
	case c.nodeTokenFile == "":
		return c, errors.New("--cachenode-token-file is required: growing configures each joining node")
	case c.publish && c.cwNamespace == "":
		return c, errors.New("publish sends the nodes' statistics to CloudWatch: --cloudwatch-namespace is required")
	case !c.autoscale && !c.publish && c.tokenFile == "":
		return c, errors.New("--token-file is required")
	case c.autoscale && c.prometheus == "" && c.cwNamespace == "":
		return c, errors.New("the autoscaler needs --prometheus or --cloudwatch-namespace")
	case c.prometheus != "" && c.cwNamespace != "":
		return c, errors.New("set --prometheus or --cloudwatch-namespace, not both")
	case c.initialNodes < 1 || c.initialNodes > autoscale.MaxPoolSize:
		return c, fmt.Errorf("--initial-nodes %d: want 1..8", c.initialNodes)
	case c.maxNodes < 1 || c.maxNodes > autoscale.MaxPoolSize:
		return c, fmt.Errorf("--max-nodes %d: want 1..8", c.maxNodes)
	case c.interval <= 0 || c.window <= 0:
		return c, errors.New("--interval and --window must be positive")
	}
	if err := control.CheckConfig(c.nodeCapacity, c.nodePolicy); err != nil {
		return c, fmt.Errorf("--node-capacity/--node-policy: %w", err)
	}
	return c, nil
}

// parseSize reads 64MB, 1GB, 512KB or plain bytes (binary units, as cachenode).
func parseSize(s string) (int64, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}, {"B", 1}} {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = strings.TrimSpace(rest), u.m
			break
		}
	}
	var n int64
	if _, err := fmt.Sscanf(s, "%d", &n); err != nil || n <= 0 || fmt.Sprint(n) != s {
		return 0, fmt.Errorf("%q: want a size such as 64MB", s)
	}
	return n * mult, nil
}

func readToken(path, flagName string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", flagName, err)
	}
	t := strings.TrimSpace(string(b))
	if t == "" || strings.ContainsAny(t, " \t\r\n") {
		return "", fmt.Errorf("%s %s: want one word (the token)", flagName, path)
	}
	return t, nil
}

// nodeGroup reads the slots file for the chosen platform.
func nodeGroup(ctx context.Context, c config) (nodegroup.NodeGroup, error) {
	b, err := os.ReadFile(c.slotsFile)
	if err != nil {
		return nil, fmt.Errorf("--slots-file: %w", err)
	}
	switch c.group {
	case "twin":
		var slots []twin.Slot
		if err := json.Unmarshal(b, &slots); err != nil {
			return nil, fmt.Errorf("--slots-file %s: %w", c.slotsFile, err)
		}
		return twin.New(slots)
	case "ec2":
		var slots []ec2.Slot
		if err := json.Unmarshal(b, &slots); err != nil {
			return nil, fmt.Errorf("--slots-file %s: %w", c.slotsFile, err)
		}
		cfg, err := awsConfig(ctx, c)
		if err != nil {
			return nil, err
		}
		return ec2.New(awsec2.NewFromConfig(cfg), slots)
	case "gce":
		var slots []gce.Slot
		if err := json.Unmarshal(b, &slots); err != nil {
			return nil, fmt.Errorf("--slots-file %s: %w", c.slotsFile, err)
		}
		return gce.New(c.gceProject, c.gceZone, slots)
	}
	return nil, fmt.Errorf("--nodegroup %q: want twin, ec2 or gce", c.group)
}

func awsConfig(ctx context.Context, c config) (aws.Config, error) {
	var opts []func(*awsconfig.LoadOptions) error
	if c.region != "" {
		opts = append(opts, awsconfig.WithRegion(c.region))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return cfg, fmt.Errorf("aws config: %w", err)
	}
	return cfg, nil
}

func metricStore(ctx context.Context, c config) (metrics.Store, error) {
	switch {
	case c.prometheus != "":
		return promstore.New(c.prometheus)
	case c.cwNamespace != "":
		cfg, err := awsConfig(ctx, c)
		if err != nil {
			return nil, err
		}
		return &cwstore.Store{API: cloudwatch.NewFromConfig(cfg), Namespace: c.cwNamespace}, nil
	}
	return nil, nil
}

func run(ctx context.Context, args []string, stderr io.Writer, logger *slog.Logger) error {
	c, err := parse(args, stderr)
	if err != nil {
		return err
	}
	if c.publish {
		return runPublish(ctx, c, logger)
	}
	nodeToken, err := readToken(c.nodeTokenFile, "--cachenode-token-file")
	if err != nil {
		return err
	}
	group, err := nodeGroup(ctx, c)
	if err != nil {
		return err
	}
	ms, err := metricStore(ctx, c)
	if err != nil {
		return err
	}
	seedPolicy := autoscale.DefaultPolicy()
	seedPolicy.MaxNodes = min(c.maxNodes, group.MaxSize())
	st, seeded, err := store.Open(ctx, c.db, store.Seed{
		Active: min(c.initialNodes, c.maxNodes, group.MaxSize()), CapacityBytes: c.nodeCapacity, CachePolicy: c.nodePolicy, Policy: seedPolicy,
	})
	if err != nil {
		return fmt.Errorf("--db: %w", err)
	}
	defer st.Close()
	ctl := &control.Controller{Store: st, Group: group, Nodes: &control.NodeClient{Token: nodeToken},
		Max: c.maxNodes, TargetsFile: c.targetsFile, JoinTimeout: c.joinTimeout, Logger: logger}

	if c.autoscale {
		a := &autoscaler.Autoscaler{Control: ctl, Metrics: ms, Clock: autoscale.RealClock{},
			Interval: c.interval, Window: c.window, Logger: logger}
		return a.Run(ctx)
	}

	token, err := readToken(c.tokenFile, "--token-file")
	if err != nil {
		return err
	}
	if seeded {
		p, _ := st.Get(ctx)
		_ = st.AddDecision(ctx, store.Decision{Cause: "first-boot", Rule: "seed", From: 0, To: p.Active, Outcome: "seeded",
			Reason: fmt.Sprintf("first start: %d node(s) from --initial-nodes (cachepool:nodes); the manager owns the size from now on", p.Active),
			Inputs: map[string]any{"initial_nodes": c.initialNodes, "max_nodes": ctl.MaxNodes()}})
	}
	go func() {
		if err := ctl.Reconcile(ctx); err != nil && ctx.Err() == nil {
			logger.Warn("reconcile slots with the stored membership", "err", err)
		}
	}()
	notifier := store.NewNotifier()
	go st.Listen(ctx, notifier, logger)
	srv := &web.Server{Control: ctl, Metrics: ms, Notifier: notifier, Token: token, Logger: logger}
	if c.gallery {
		srv.DeleteData = func(ctx context.Context) error {
			ctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			n, err := st.WipeGallery(ctx, 250*time.Millisecond)
			if err == nil {
				logger.Info("the gallery deleted its images", "images", n)
			}
			return err
		}
	}
	hs := appkit.NewHTTPServer(srv.Handler(), logger)
	hs.WriteTimeout = 90 * time.Second // GET /api/pool?wait= holds up to a minute
	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return err
	}
	return appkit.Serve(ctx, hs, ln, logger)
}
