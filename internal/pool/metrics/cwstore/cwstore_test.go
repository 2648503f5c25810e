package cwstore

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/smithy-go/encoding/cbor"
)

// endpoint is an in-test CloudWatch: it checks what the SDK sends (the
// rpc-v2-cbor protocol, a SigV4 signature from the static credentials),
// decodes the CBOR body and answers with what respond returns.
type endpoint struct {
	t       *testing.T
	mu      sync.Mutex
	ops     []string
	bodies  []cbor.Map
	respond func(op string, body cbor.Map) cbor.Map
}

func newEndpoint(t *testing.T, respond func(op string, body cbor.Map) cbor.Map) (*endpoint, *cloudwatch.Client) {
	e := &endpoint{t: t, respond: respond}
	srv := httptest.NewServer(http.HandlerFunc(e.serve))
	t.Cleanup(srv.Close)
	c := cloudwatch.New(cloudwatch.Options{
		Region:           "eu-west-1",
		BaseEndpoint:     aws.String(srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		RetryMaxAttempts: 1,
	})
	return e, c
}

func (e *endpoint) serve(w http.ResponseWriter, r *http.Request) {
	op, ok := strings.CutPrefix(r.URL.Path, "/service/GraniteServiceVersion20100801/operation/")
	if r.Method != http.MethodPost || !ok {
		e.fail(w, "request %s %s: want POST /service/GraniteServiceVersion20100801/operation/<op>", r.Method, r.URL.Path)
		return
	}
	if r.Header.Get("Smithy-Protocol") != "rpc-v2-cbor" || r.Header.Get("Content-Type") != "application/cbor" {
		e.fail(w, "%s headers %v: want Smithy-Protocol rpc-v2-cbor and Content-Type application/cbor", op, r.Header)
		return
	}
	if a := r.Header.Get("Authorization"); !strings.HasPrefix(a, "AWS4-HMAC-SHA256 Credential=AKIDTEST/") || !strings.Contains(a, "/eu-west-1/monitoring/aws4_request") {
		e.fail(w, "%s Authorization %q: want SigV4 by AKIDTEST for eu-west-1 monitoring", op, a)
		return
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		e.fail(w, "%s body: %v", op, err)
		return
	}
	if r.Header.Get("Content-Encoding") == "gzip" { // PutMetricData compresses its body
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err == nil {
			raw, err = io.ReadAll(zr)
		}
		if err != nil {
			e.fail(w, "%s gzip body: %v", op, err)
			return
		}
	}
	v, err := cbor.Decode(raw)
	if err != nil {
		e.fail(w, "%s body is not CBOR: %v", op, err)
		return
	}
	body, ok := v.(cbor.Map)
	if !ok {
		e.fail(w, "%s body is a %T, want a map", op, v)
		return
	}
	e.mu.Lock()
	e.ops = append(e.ops, op)
	e.bodies = append(e.bodies, body)
	e.mu.Unlock()
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	w.Header().Set("Content-Type", "application/cbor")
	w.Write(cbor.Encode(e.respond(op, body)))
}

func (e *endpoint) fail(w http.ResponseWriter, format string, args ...any) {
	e.t.Errorf(format, args...)
	http.Error(w, "bad request", http.StatusBadRequest)
}

func (e *endpoint) requests() ([]string, []cbor.Map) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.ops), slices.Clone(e.bodies)
}

func str(v cbor.Value) string { s, _ := v.(cbor.String); return string(s) }

func num(t *testing.T, v cbor.Value) float64 {
	t.Helper()
	f, err := cbor.AsFloat64(v)
	if err != nil {
		t.Fatalf("%#v: %v", v, err)
	}
	return f
}

func when(t *testing.T, v cbor.Value) time.Time {
	t.Helper()
	ts, err := cbor.AsTime(v)
	if err != nil {
		t.Fatalf("%#v: %v", v, err)
	}
	return ts
}

func TestPublisherSendsHighResolutionNodeMetrics(t *testing.T) {
	e, c := newEndpoint(t, func(string, cbor.Map) cbor.Map { return cbor.Map{} })
	p := &Publisher{API: c, Namespace: Namespace("dev"), Node: "node-3"}
	t1 := time.Date(2026, 3, 1, 12, 0, 5, 0, time.UTC)
	ctx := context.Background()
	if err := p.Publish(ctx, t1, NodeStats{Hits: 90, Misses: 10, Sets: 7, Evictions: 2, Requests: 107, Items: 5, Bytes: 500, Capacity: 4096}); err != nil {
		t.Fatal(err)
	}
	// 5 s later: counters went up; the second call carries the increase.
	if err := p.Publish(ctx, t1.Add(5*time.Second), NodeStats{Hits: 120, Misses: 30, Sets: 7, Evictions: 2, Requests: 157, Items: 6, Bytes: 600, Capacity: 4096}); err != nil {
		t.Fatal(err)
	}
	ops, bodies := e.requests()
	if len(ops) != 2 || ops[0] != "PutMetricData" || ops[1] != "PutMetricData" {
		t.Fatalf("operations %v, want two PutMetricData", ops)
	}
	wantNames := []string{"Bytes", "CapacityBytes", "Evictions", "Gets", "Hits", "Items", "Misses", "Requests", "Sets", "Up"}
	wantValues := []map[string]float64{
		{"Hits": 90, "Misses": 10, "Gets": 100, "Sets": 7, "Evictions": 2, "Requests": 107, "Items": 5, "Bytes": 500, "CapacityBytes": 4096, "Up": 1},
		{"Hits": 30, "Misses": 20, "Gets": 50, "Sets": 0, "Evictions": 0, "Requests": 50, "Items": 6, "Bytes": 600, "CapacityBytes": 4096, "Up": 1},
	}
	for i, b := range bodies {
		if ns := str(b["Namespace"]); ns != "Cloudlabs/dev" {
			t.Errorf("call %d namespace %q, want Cloudlabs/dev", i+1, ns)
		}
		data, _ := b["MetricData"].(cbor.List)
		if len(data) != len(wantNames) {
			t.Fatalf("call %d: %d metric data, want %d", i+1, len(data), len(wantNames))
		}
		var names []string
		for _, dv := range data {
			d := dv.(cbor.Map)
			name := str(d["MetricName"])
			names = append(names, name)
			if r := num(t, d["StorageResolution"]); r != 1 {
				t.Errorf("call %d %s: StorageResolution %v, want 1 (high resolution)", i+1, name, r)
			}
			dims, _ := d["Dimensions"].(cbor.List)
			if len(dims) != 1 || str(dims[0].(cbor.Map)["Name"]) != "Node" || str(dims[0].(cbor.Map)["Value"]) != "node-3" {
				t.Errorf("call %d %s: dimensions %v, want Node=node-3 only", i+1, name, dims)
			}
			if ts := when(t, d["Timestamp"]); !ts.Equal(t1.Add(time.Duration(i) * 5 * time.Second)) {
				t.Errorf("call %d %s: timestamp %v, want the publish time", i+1, name, ts)
			}
			if v := num(t, d["Value"]); v != wantValues[i][name] {
				t.Errorf("call %d %s = %v, want %v", i+1, name, v, wantValues[i][name])
			}
		}
		slices.Sort(names)
		if !slices.Equal(names, wantNames) {
			t.Errorf("call %d metric names %v, want %v", i+1, names, wantNames)
		}
	}
}

func TestPublisherRunPublishesEveryTick(t *testing.T) {
	e, c := newEndpoint(t, func(string, cbor.Map) cbor.Map { return cbor.Map{} })
	p := &Publisher{API: c, Namespace: Namespace("dev"), Node: "node-1"}
	ticks := make(chan time.Time)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	var n int64
	stats := func() NodeStats {
		if n == 30 { // the fourth tick: the third publish has returned; stop before sending
			cancel()
		}
		n += 10
		return NodeStats{Hits: n}
	}
	go func() {
		done <- p.Run(ctx, ticks, stats, func(err error) {
			if !errors.Is(err, context.Canceled) { // the fourth publish meets the cancel
				t.Error(err)
			}
		})
	}()
	t1 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := range 4 {
		ticks <- t1.Add(time.Duration(i) * 5 * time.Second) // unbuffered: Run took it
	}
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run returned %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return within 10 s of cancel")
	}
	ops, bodies := e.requests()
	if len(ops) != 3 {
		t.Fatalf("%d publishes, want 3: one per tick before the cancel", len(ops))
	}
	for i, b := range bodies[:3] {
		for _, dv := range b["MetricData"].(cbor.List) {
			if d := dv.(cbor.Map); str(d["MetricName"]) == MetricHits && num(t, d["Value"]) != 10 {
				t.Errorf("publish %d: Hits %v, want the increase 10", i+1, num(t, d["Value"]))
			}
		}
	}
}

// result is one canned MetricDataResult.
func result(id string, ts []time.Time, vs []float64) cbor.Value {
	var tl, vl cbor.List
	for i := range ts {
		tl = append(tl, &cbor.Tag{ID: 1, Value: cbor.Float64(float64(ts[i].Unix()))})
		vl = append(vl, cbor.Float64(vs[i]))
	}
	return cbor.Map{"Id": cbor.String(id), "Label": cbor.String(id), "Timestamps": tl, "Values": vl, "StatusCode": cbor.String("Complete")}
}

// checkQueries asserts the GetMetricData request: the stack's namespace in
// every SEARCH, the period, and one query per quantity.
func checkQueries(t *testing.T, body cbor.Map, from, to time.Time, period int) {
	t.Helper()
	if got := when(t, body["StartTime"]); !got.Equal(from) {
		t.Errorf("StartTime %v, want %v", got, from)
	}
	if got := when(t, body["EndTime"]); !got.Equal(to) {
		t.Errorf("EndTime %v, want %v", got, to)
	}
	qs, _ := body["MetricDataQueries"].(cbor.List)
	if len(qs) != 8 {
		t.Fatalf("%d queries, want 8", len(qs))
	}
	want := map[string]string{
		"nodes":     `SUM(SEARCH('{"Cloudlabs/dev",Node} MetricName="Up"', 'Maximum', %d))`,
		"hits":      `SUM(SEARCH('{"Cloudlabs/dev",Node} MetricName="Hits"', 'Sum', %d))`,
		"misses":    `SUM(SEARCH('{"Cloudlabs/dev",Node} MetricName="Misses"', 'Sum', %d))`,
		"evictions": `SUM(SEARCH('{"Cloudlabs/dev",Node} MetricName="Evictions"', 'Sum', %d))`,
		"requests":  `SUM(SEARCH('{"Cloudlabs/dev",Node} MetricName="Requests"', 'Sum', %d))`,
		"items":     `SUM(SEARCH('{"Cloudlabs/dev",Node} MetricName="Items"', 'Average', %d))`,
		"bytes":     `SUM(SEARCH('{"Cloudlabs/dev",Node} MetricName="Bytes"', 'Average', %d))`,
		"capacity":  `MIN(SEARCH('{"Cloudlabs/dev",Node} MetricName="CapacityBytes"', 'Minimum', %d))`,
	}
	for _, qv := range qs {
		q := qv.(cbor.Map)
		id := str(q["Id"])
		w, ok := want[id]
		if !ok {
			t.Errorf("unexpected query id %q", id)
			continue
		}
		if got, w := str(q["Expression"]), strings.ReplaceAll(w, "%d", itoa(period)); got != w {
			t.Errorf("query %s expression %s, want %s", id, got, w)
		}
		if p := num(t, q["Period"]); int(p) != period {
			t.Errorf("query %s period %v, want %d", id, p, period)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestStoreWindow(t *testing.T) {
	end := time.Date(2026, 3, 1, 12, 1, 0, 0, time.UTC)
	start := end.Add(-time.Minute)
	canned := map[string]float64{"nodes": 3, "hits": 900, "misses": 300, "evictions": 4, "requests": 1300, "items": 77, "bytes": 9000, "capacity": 4096}
	e, c := newEndpoint(t, func(op string, body cbor.Map) cbor.Map {
		var rs cbor.List
		for id, v := range canned {
			rs = append(rs, result(id, []time.Time{start}, []float64{v}))
		}
		return cbor.Map{"MetricDataResults": rs}
	})
	st := &Store{API: c, Namespace: Namespace("dev")}
	w, err := st.Window(context.Background(), end, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	ops, bodies := e.requests()
	if len(ops) != 1 || ops[0] != "GetMetricData" {
		t.Fatalf("operations %v, want one GetMetricData", ops)
	}
	checkQueries(t, bodies[0], start, end, 60)
	if w.Reporting != 3 || w.Hits != 900 || w.Misses != 300 || w.Evictions != 4 || w.Requests != 1300 ||
		w.Items != 77 || w.Bytes != 9000 || w.CapacityPerNode != 4096 {
		t.Errorf("window %+v, want the canned values", w)
	}
	if r, ok := w.MissRate(); !ok || r != 0.25 {
		t.Errorf("miss rate %v (%v), want 0.25", r, ok)
	}
	if _, err := st.Window(context.Background(), end, 7*time.Second); err == nil || !strings.Contains(err.Error(), "7s") {
		t.Errorf("7 s window: err %v, want one naming the period", err)
	}
}

func TestStorePoolSeriesFollowsPages(t *testing.T) {
	to := time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC)
	from := to.Add(-30 * time.Minute)
	// Two pages: periods starting 11:59..12:14 then 12:15..12:29; CloudWatch
	// stamps a period with its start, so 12:29's is the point at 12:30.
	page := func(first, n int) cbor.List {
		var ts []time.Time
		var hits, misses, nodes []float64
		for i := first; i < first+n; i++ {
			ts = append(ts, from.Add(time.Duration(i-1)*time.Minute))
			hits, misses, nodes = append(hits, 75), append(misses, float64(i)), append(nodes, 2)
		}
		return cbor.List{result("hits", ts, hits), result("misses", ts, misses), result("nodes", ts, nodes)}
	}
	e, c := newEndpoint(t, func(op string, body cbor.Map) cbor.Map {
		if str(body["NextToken"]) == "" {
			return cbor.Map{"MetricDataResults": page(0, 16), "NextToken": cbor.String("page-2")}
		}
		return cbor.Map{"MetricDataResults": page(16, 15)}
	})
	st := &Store{API: c, Namespace: Namespace("dev")}
	s, err := st.PoolSeries(context.Background(), from, to, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	ops, bodies := e.requests()
	if len(ops) != 2 {
		t.Fatalf("%d GetMetricData calls, want 2 (one per page)", len(ops))
	}
	checkQueries(t, bodies[0], from.Add(-time.Minute), to, 60)
	if tok := str(bodies[1]["NextToken"]); tok != "page-2" {
		t.Errorf("second call NextToken %q, want page-2", tok)
	}
	if len(s.Points) != 31 {
		t.Fatalf("%d points, want 31 (30 minutes at 1-minute steps, both ends)", len(s.Points))
	}
	for i, p := range s.Points {
		if !p.Time.Equal(from.Add(time.Duration(i)*time.Minute)) || p.Nodes != 2 || p.Misses != float64(i) || p.Hits != 75 {
			t.Errorf("point %d = %+v, want time %v, 2 nodes, %d misses, 75 hits", i, p, from.Add(time.Duration(i)*time.Minute), i)
		}
	}
	if p := s.Points[25]; !p.HasRate || p.MissRate != 0.25 {
		t.Errorf("point 25 miss rate %v (%v), want 25/100", p.MissRate, p.HasRate)
	}
}
