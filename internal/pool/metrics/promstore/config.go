// Package promstore is the pool's metric store on a real Prometheus (the
// twin's Debian prometheus, or any other): it renders the prometheus.yml
// that scrapes every node's /metrics every 5 s, writes the file_sd targets
// file the manager keeps up to date with the pool's members, and reads the
// pool's window and series back with PromQL through client_golang's
// api/prometheus/v1.
package promstore

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/cloudlabs/cloudlabs/internal/system"
)

// DefaultScrapeInterval is the lab's 5 s.
const DefaultScrapeInterval = 5 * time.Second

// ConfigArgs is what prometheus.yml is made of.
type ConfigArgs struct {
	// JobName labels every sample (job="..."); default "cachenode".
	JobName string
	// TargetsFile is the absolute path of the file_sd JSON file the
	// manager writes (WriteTargets).
	TargetsFile string
	// ScrapeInterval defaults to 5 s; tests shorten it.
	ScrapeInterval time.Duration
	// RefreshInterval is how often Prometheus re-reads TargetsFile besides
	// watching it; default 30 s.
	RefreshInterval time.Duration
}

type promConfig struct {
	Global        promGlobal     `yaml:"global"`
	ScrapeConfigs []scrapeConfig `yaml:"scrape_configs"`
}

type promGlobal struct {
	ScrapeInterval     string `yaml:"scrape_interval"`
	ScrapeTimeout      string `yaml:"scrape_timeout"`
	EvaluationInterval string `yaml:"evaluation_interval"`
}

type scrapeConfig struct {
	JobName        string         `yaml:"job_name"`
	ScrapeInterval string         `yaml:"scrape_interval"`
	ScrapeTimeout  string         `yaml:"scrape_timeout"`
	MetricsPath    string         `yaml:"metrics_path"`
	FileSDConfigs  []fileSDConfig `yaml:"file_sd_configs"`
}

type fileSDConfig struct {
	Files           []string `yaml:"files"`
	RefreshInterval string   `yaml:"refresh_interval"`
}

// RenderConfig returns prometheus.yml for the pool: one job scraping
// /metrics of every target listed in TargetsFile every ScrapeInterval.
func RenderConfig(a ConfigArgs) ([]byte, error) {
	if a.TargetsFile == "" {
		return nil, fmt.Errorf("prometheus config: TargetsFile is empty: want the path of the file_sd JSON file")
	}
	if a.JobName == "" {
		a.JobName = "cachenode"
	}
	if a.ScrapeInterval == 0 {
		a.ScrapeInterval = DefaultScrapeInterval
	}
	if a.ScrapeInterval < time.Second || a.ScrapeInterval%time.Second != 0 {
		return nil, fmt.Errorf("prometheus config: ScrapeInterval = %s: want whole seconds, at least 1s", a.ScrapeInterval)
	}
	if a.RefreshInterval == 0 {
		a.RefreshInterval = 30 * time.Second
	}
	every := promDuration(a.ScrapeInterval)
	c := promConfig{
		// The timeout may not exceed the interval; Prometheus's default
		// (10 s) would, at 5 s.
		Global: promGlobal{ScrapeInterval: every, ScrapeTimeout: every, EvaluationInterval: every},
		ScrapeConfigs: []scrapeConfig{{
			JobName: a.JobName, ScrapeInterval: every, ScrapeTimeout: every, MetricsPath: "/metrics",
			FileSDConfigs: []fileSDConfig{{Files: []string{a.TargetsFile}, RefreshInterval: promDuration(a.RefreshInterval)}},
		}},
	}
	b, err := yaml.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("prometheus config: %w", err)
	}
	return append([]byte("# Rendered by cloudlabs internal/pool/metrics/promstore; do not edit.\n"), b...), nil
}

func promDuration(d time.Duration) string {
	return fmt.Sprintf("%ds", int(d/time.Second))
}

// Target is one pool member to scrape.
type Target struct {
	Node string // becomes the node label
	Addr string // host:port of the node's /metrics
}

type targetGroup struct {
	Targets []string          `json:"targets"`
	Labels  map[string]string `json:"labels"`
}

// WriteTargets replaces the file_sd JSON file with the pool's members, one
// group per node so each carries its node label. The write is atomic:
// Prometheus, which watches the file, never reads half of it.
func WriteTargets(path string, targets []Target) error {
	groups := make([]targetGroup, 0, len(targets))
	seen := map[string]bool{}
	for _, t := range targets {
		if t.Node == "" || t.Addr == "" {
			return fmt.Errorf("write targets %s: target %+v: want both Node and Addr", path, t)
		}
		if seen[t.Node] {
			return fmt.Errorf("write targets %s: node %q listed twice", path, t.Node)
		}
		seen[t.Node] = true
		groups = append(groups, targetGroup{Targets: []string{t.Addr}, Labels: map[string]string{"node": t.Node}})
	}
	slices.SortFunc(groups, func(a, b targetGroup) int { return compare(a.Labels["node"], b.Labels["node"]) })
	b, err := json.MarshalIndent(groups, "", "  ")
	if err != nil {
		return fmt.Errorf("write targets %s: %w", path, err)
	}
	return system.WriteFile(path, append(b, '\n'), 0o644)
}

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
