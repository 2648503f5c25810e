package poolreport

import (
	"fmt"
	"strings"
	"time"

	"github.com/cloudlabs/cloudlabs/internal/pool/ring"
)

// Markdown is report.md: the configuration, the definitions, every chart
// (embedded by file name) with its numbers, and what was restored.
func Markdown(rep *Report) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	c := rep.Config
	p("# Elastic pool report\n\n")
	if rep.Interrupted {
		p("**Interrupted**: the run was stopped before it finished; what follows is what was measured.\n\n")
	}
	for _, e := range rep.Errors {
		p("**Error**: %s\n\n", mdEscape(e))
	}
	p("Made by `%s` from %s to %s (%s).\n\n", rep.Command, rep.Started.UTC().Format(time.RFC3339), rep.Finished.UTC().Format(time.RFC3339), rep.Finished.Sub(rep.Started).Round(time.Second))
	p("## Configuration\n\n| | |\n|---|---|\n")
	if rep.Target.Stack != "" {
		p("| stack | %s |\n", rep.Target.Stack)
	}
	p("| gallery | %s |\n| manager | %s |\n", rep.Target.GalleryURL, rep.Target.ManagerURL)
	p("| pool as found | %d nodes (at most %d), %s mode, %d bytes per node, eviction %s |\n", rep.Initial.Nodes, rep.Initial.MaxNodes, rep.Initial.Mode, rep.Initial.CapacityBytes, rep.Initial.EvictionPolicy)
	p("| ring scheme (gallery) | %s |\n", orNA(rep.Scheme))
	p("| seed | %d |\n", c.Seed)
	p("| image set | %d images (%d PNG, %d JPEG), %d bytes in all, %d–%d bytes each; size classes %s |\n", rep.ImageSet.Count, rep.ImageSet.PNG, rep.ImageSet.JPEG, rep.ImageSet.Bytes, rep.ImageSet.MinBytes, rep.ImageSet.MaxBytes, c.SizesText)
	p("| workload | Zipf popularity s=%.2f over the images, read:write %d:%d (a write uploads the key's image again) |\n", c.ZipfS, c.Reads, c.Writes)
	p("| load | closed loop, %d workers, %d requests per manual run, latency points of %d requests, timeout %s |\n", c.Concurrency, c.Requests, c.Batch, c.TimeoutText)
	p("| manual sizes | constant %d; shrink %d → %d; grow %d → %d (one node at a time, at evenly spaced request counts) |\n", c.N, c.N, c.M, c.M, c.N)
	p("| autoscaler | max miss rate %.2f, min %.2f, expand ×%.2f, shrink ×%.2f, %s |\n", c.MaxMissRate, c.MinMissRate, c.ExpandRatio, c.ShrinkRatio, ruleText(c.PlainRule))
	p("| machine | %s, %s/%s, %d CPUs (%s), %d MB memory, %s |\n", rep.Machine.Hostname, rep.Machine.OS, rep.Machine.Arch, rep.Machine.CPUs, orNA(rep.Machine.CPUModel), rep.Machine.MemoryKB/1024, rep.Machine.Go)
	if rep.Machine.Revision != "" {
		p("| revision | %s |\n", rep.Machine.Revision)
	}
	p("\nThe raw data is in the CSV files beside this report; report.json has every number. The images are made by `internal/measure/imageset` from the seed (images.csv lists each file's size and SHA-256).\n\n")

	p("## Definitions\n\n")
	p("- **Latency graph**: %s Each manual run starts with the cache cleared and every image read once (not measured).\n", LatencyDefinition)
	p("- **Throughput graph**: %s\n", ThroughputDefinition)
	p("- **Resize marks**: a dashed vertical line where a resize was asked for (latency: at the request count; throughput: at its time since the start, so every window from the start that is at least that long contains it).\n")
	p("- **Autoscaler graphs**: %s\n", AutoDefinition)
	p("- **Key movement**: %s\n\n", MovementDefinition)

	if len(rep.Manual) > 0 {
		p("## Manual resizing\n\n")
		for _, name := range []string{Constant, Shrink, Grow} {
			runs := manualRuns(rep, name)
			if len(runs) == 0 {
				continue
			}
			p("### %s\n\n", manualTitle(name, runs[0]))
			p("![latency](manual-%s-latency.svg)\n\n![throughput](manual-%s-throughput.svg)\n\n", name, name)
			p("| run | requests | answered | failed | mean (ms) | answered/s | cache miss rate | duration (s) |\n|---|---|---|---|---|---|---|---|\n")
			for _, m := range runs {
				p("| %d | %d | %d | %d | %.2f | %.1f | %s | %.1f |\n", m.Run, m.Requests, m.Responses, m.Failed, m.MeanMs, m.RPS, pct(m.Cache.MissRate), m.DurationS)
			}
			for _, m := range runs {
				for _, z := range m.Resizes {
					p("\nRun %d: %s asked at request %d (%.1f s), the manager answered at %.1f s, the gallery routed with it from %.1f s (request %d).", m.Run, z.Label(), z.AtRequest, z.AtS, z.DoneS, z.SwitchedS, z.SwitchedRequest)
				}
			}
			p("\n\n")
		}
		if n := rep.Noise; n != nil {
			p("### Run-to-run noise\n\nThe constant scenario ran %d times with the same seed and workload:\n\n", n.Runs)
			p("| figure | mean | min | max | range |\n|---|---|---|---|---|\n")
			p("| mean latency (ms) | %.2f | %.2f | %.2f | %.1f%% |\n", n.MeanMs.Mean, n.MeanMs.Min, n.MeanMs.Max, n.MeanMs.RangePct)
			p("| answered/s | %.1f | %.1f | %.1f | %.1f%% |\n", n.RPS.Mean, n.RPS.Min, n.RPS.Max, n.RPS.RangePct)
			p("| most finished in 1 s | %.0f | %.0f | %.0f | %.1f%% |\n\n", n.Peak1s.Mean, n.Peak1s.Min, n.Peak1s.Max, n.Peak1s.RangePct)
			p("Differences between scenarios smaller than these ranges are noise.\n\n")
		}
	}
	if len(rep.Auto) > 0 {
		p("## Automatic resizing\n\n")
		for _, a := range rep.Auto {
			p("### %s\n\n![%s](%s.svg)\n\n", autoTitle(a), a.Scenario, a.Scenario)
			p("Policy during the run: max %.2f, min %.2f, expand ×%.2f, shrink ×%.2f, min requests %.0f, cooldown %s, require evictions %v, require fit %v. Node capacity %d bytes. Started at %d nodes, ended at %d. %d requests, %d answered, %d failed in %.0f s.\n\n",
				a.Policy.MaxMissRate, a.Policy.MinMissRate, a.Policy.ExpandRatio, a.Policy.ShrinkRatio, a.Policy.MinRequests, a.Policy.Cooldown, a.Policy.RequireEvictions, a.Policy.RequireFit,
				a.CapacityBytes, a.StartNodes, a.EndNodes, a.Requests, a.Responses, a.Failed, a.DurationS)
			interval := "not measurable (fewer than two checks)"
			if a.CheckIntervalS > 0 {
				interval = fmt.Sprintf("%.1f s", a.CheckIntervalS)
				if a.CheckIntervalS < 50 {
					interval += " — shortened from the lab's 1 minute by the autoscaler's --interval flag"
				}
			}
			p("Autoscaler check interval (median gap between its logged checks): %s. ", interval)
			if a.Settled {
				p("The pool resized and then held for %d checks.\n\n", c.SettleChecks)
			} else {
				p("**The pool did not settle within the time limit.**\n\n")
			}
			p("| t (s) | decision | miss rate seen | reason |\n|---|---|---|---|\n")
			for _, d := range a.Decisions {
				rate := "n/a"
				if d.HasMissRate {
					rate = fmt.Sprintf("%.3f", d.MissRate)
				}
				p("| %.1f | %s %d→%d (%s) | %s | %s |\n", d.TS, d.Outcome, d.From, d.To, d.Rule, rate, mdEscape(d.Reason))
			}
			p("\n")
		}
	}
	if mv := rep.Movement; mv != nil {
		p("## Key movement per hashing scheme\n\n![movement](%s)\n\n", MovementSV)
		p("Computed with `ring.Moved` (lab: exact, partitions out of 16; jump and rendezvous: over %d keys).\n\n| resize | lab partitions |", ring.SampleKeys)
		for _, s := range ring.Schemes() {
			p(" %s |", s)
		}
		p(" minimum |\n|---|---|")
		for range ring.Schemes() {
			p("---|")
		}
		p("---|\n")
		for _, r := range mv.Computed {
			p("| %d → %d | %d of 16 |", r.From, r.To, r.LabPartitions)
			for _, s := range ring.Schemes() {
				p(" %.3f |", r.Computed[s])
			}
			p(" %.3f |\n", r.Minimum)
		}
		if len(mv.Measured) > 0 {
			p("\nMeasured on the pool with the gallery's scheme, **%s**, over %d keys: the cache cleared, every key read once on the old pool, the pool resized, every key read once more; the share is the misses of that last pass over the keys. \"Predicted\" is the share of these same keys whose node the ring changes.\n\n", mv.Scheme, mv.Keys)
			p("| resize | misses | measured | predicted (these keys) | computed | minimum | routing as the ring says |\n|---|---|---|---|---|---|---|\n")
			for _, m := range mv.Measured {
				p("| %d → %d | %.0f | %.3f | %.3f | %.3f | %.3f | %v |\n", m.FromN, m.ToN, m.Misses, m.Share, m.Predicted, m.Computed, m.Minimum, m.RoutingMatches)
			}
		}
		p("\n")
	}
	p("## What the run changed\n\n")
	if len(rep.Restored) == 0 && len(rep.Left) == 0 {
		p("Nothing.\n")
	}
	for _, s := range rep.Restored {
		p("- restored %s\n", s)
	}
	for _, s := range rep.Left {
		p("- **not restored**: %s\n", mdEscape(s))
	}
	return b.String()
}

func orNA(s string) string {
	if s == "" {
		return "n/a"
	}
	return s
}

func ruleText(plain bool) string {
	if plain {
		return "the lab's plain rule (the manager's extra rules off)"
	}
	return "the manager's extra rules as configured"
}
