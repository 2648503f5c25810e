package cwstore

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/cloudlabs/cloudlabs/internal/pool/metrics"
)

// Store reads the pool's statistics from CloudWatch. It is safe for
// concurrent use.
type Store struct {
	API       API
	Namespace string
}

var _ metrics.Store = (*Store)(nil)

// query is one GetMetricData expression: fn over the SEARCH of every node's
// series of a metric, with stat per period.
type query struct {
	id, fn, metric, stat string
	gauge                bool // read the latest period, not the sum
}

var queries = []query{
	{"nodes", "SUM", MetricUp, "Maximum", false},
	{"hits", "SUM", MetricHits, "Sum", false},
	{"misses", "SUM", MetricMisses, "Sum", false},
	{"evictions", "SUM", MetricEvictions, "Sum", false},
	{"requests", "SUM", MetricRequests, "Sum", false},
	{"items", "SUM", MetricItems, "Average", true},
	{"bytes", "SUM", MetricBytes, "Average", true},
	{"capacity", "MIN", MetricCapacity, "Minimum", true},
}

// Expression returns the metric math for one quantity, e.g.
// SUM(SEARCH('{"Cloudlabs/dev",Node} MetricName="Misses"', 'Sum', 60)).
func Expression(namespace, fn, metric, stat string, period int32) string {
	return fmt.Sprintf(`%s(SEARCH('{"%s",%s} MetricName="%s"', '%s', %d))`, fn, namespace, DimensionNode, metric, stat, period)
}

// period checks d against what CloudWatch accepts for high-resolution
// metrics: 1, 5, 10 or 30 s, or a multiple of 60 s.
func period(d time.Duration) (int32, error) {
	s := int64(d / time.Second)
	if time.Duration(s)*time.Second != d || !(slices.Contains([]int64{1, 5, 10, 30}, s) || (s > 0 && s%60 == 0)) {
		return 0, fmt.Errorf("cloudwatch period %s: want 1s, 5s, 10s, 30s or a multiple of 60s", d)
	}
	return int32(s), nil
}

func (s *Store) fetch(ctx context.Context, from, to time.Time, per int32) (map[string][]sample, error) {
	in := &cloudwatch.GetMetricDataInput{StartTime: aws.Time(from), EndTime: aws.Time(to), ScanBy: types.ScanByTimestampAscending}
	for _, q := range queries {
		in.MetricDataQueries = append(in.MetricDataQueries, types.MetricDataQuery{
			Id: aws.String(q.id), Expression: aws.String(Expression(s.Namespace, q.fn, q.metric, q.stat, per)),
			Period: aws.Int32(per), ReturnData: aws.Bool(true),
		})
	}
	got := map[string][]sample{}
	for {
		out, err := s.API.GetMetricData(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("cloudwatch get metric data %s: %w", s.Namespace, err)
		}
		for _, r := range out.MetricDataResults {
			if r.StatusCode == types.StatusCodeInternalError || r.StatusCode == types.StatusCodeForbidden {
				return nil, fmt.Errorf("cloudwatch get metric data %s: query %s: %s", s.Namespace, aws.ToString(r.Id), r.StatusCode)
			}
			id := aws.ToString(r.Id)
			for i, ts := range r.Timestamps {
				if i < len(r.Values) {
					got[id] = append(got[id], sample{ts, r.Values[i]})
				}
			}
		}
		if aws.ToString(out.NextToken) == "" {
			return got, nil
		}
		in.NextToken = out.NextToken
	}
}

type sample struct {
	t time.Time
	v float64
}

// Window asks for one period of length d ending at end.
func (s *Store) Window(ctx context.Context, end time.Time, d time.Duration) (metrics.Window, error) {
	per, err := period(d)
	if err != nil {
		return metrics.Window{}, err
	}
	from := end.Add(-d)
	got, err := s.fetch(ctx, from, end, per)
	if err != nil {
		return metrics.Window{}, err
	}
	value := func(q query) float64 {
		ss := got[q.id]
		if len(ss) == 0 {
			return 0
		}
		if q.gauge {
			return slices.MaxFunc(ss, func(a, b sample) int { return a.t.Compare(b.t) }).v
		}
		sum := 0.0
		for _, x := range ss {
			sum += x.v
		}
		return sum
	}
	w := metrics.Window{From: from, To: end}
	for _, q := range queries {
		v := value(q)
		switch q.id {
		case "nodes":
			w.Reporting = int(math.Round(v))
		case "hits":
			w.Hits = v
		case "misses":
			w.Misses = v
		case "evictions":
			w.Evictions = v
		case "requests":
			w.Requests = v
		case "items":
			w.Items = v
		case "bytes":
			w.Bytes = v
		case "capacity":
			w.CapacityPerNode = v
		}
	}
	return w, nil
}

// PoolSeries asks for periods of length step; CloudWatch stamps a period
// with its start, a Point with its end, so the period starting at T is the
// point at T+step.
func (s *Store) PoolSeries(ctx context.Context, from, to time.Time, step time.Duration) (metrics.Series, error) {
	per, err := period(step)
	if err != nil {
		return metrics.Series{}, err
	}
	steps := metrics.Steps(from, to, step)
	if len(steps) == 0 {
		return metrics.Series{}, fmt.Errorf("cloudwatch series %s..%s: want from <= to", from, to)
	}
	got, err := s.fetch(ctx, from.Add(-step), to, per)
	if err != nil {
		return metrics.Series{}, err
	}
	pts := make([]metrics.Point, len(steps))
	for i, t := range steps {
		pts[i].Time = t
	}
	for _, q := range queries {
		for _, x := range got[q.id] {
			i := int(math.Round(float64(x.t.Add(step).Sub(from)) / float64(step)))
			if i < 0 || i >= len(pts) {
				continue
			}
			p := &pts[i]
			switch q.id {
			case "nodes":
				p.Nodes = int(math.Round(x.v))
			case "hits":
				p.Hits = x.v
			case "misses":
				p.Misses = x.v
			case "evictions":
				p.Evictions = x.v
			case "requests":
				p.Requests = x.v
			case "items":
				p.Items = x.v
			case "bytes":
				p.Bytes = x.v
			}
		}
	}
	for i := range pts {
		pts[i].Fill()
	}
	return metrics.Series{From: from, To: to, Step: step, Points: pts}, nil
}
