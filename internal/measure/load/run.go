package load

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Options configure a run.
type Options struct {
	Concurrency int           // workers, each with at most one request in flight
	Requests    int           // total requests to send
	Timeout     time.Duration // per request, dial to last body byte; 0 means 10 s
	// Done, when set, is incremented as each request finishes, for progress.
	Done *atomic.Int64
	// StdClient sends http:// requests with net/http too (https:// always
	// uses it); by default they go through the leaner wire client.
	StdClient bool
}

// DefaultTimeout is the per-request timeout when Options.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// Source returns the i-th request of a run (0 <= i < Options.Requests). It is
// called concurrently and must not block; returning the same *Request for
// every i is fine and cheapest.
type Source func(i int) *Request

// Run sends opts.Requests requests from opts.Concurrency workers and returns
// what it measured. Failures are counted, never fatal; Run returns an error
// only for bad options. Canceling ctx stops it early with what was measured.
func Run(ctx context.Context, opts Options, src Source) (Result, error) {
	if opts.Concurrency < 1 || opts.Requests < 1 {
		return Result{}, fmt.Errorf("concurrency %d, requests %d: want both at least 1", opts.Concurrency, opts.Requests)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	tr := newTransport(opts.Concurrency, opts.Timeout)
	defer tr.CloseIdleConnections()

	shards := make([]shard, min(opts.Concurrency, 64))
	for i := range shards {
		shards[i].hist = newHistogram()
		shards[i].errors = map[string]int{}
		shards[i].examples = map[string]string{}
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := range opts.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wk := worker{tr: tr, std: opts.StdClient, timeout: opts.Timeout, shard: &shards[w%len(shards)]}
			defer wk.closeConn()
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= opts.Requests {
					return
				}
				wk.send(ctx, src(i))
				if opts.Done != nil {
					opts.Done.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)

	res := Result{Errors: map[string]int{}, Examples: map[string]string{}, ElapsedSeconds: elapsed.Seconds()}
	all := newHistogram()
	for i := range shards {
		s := &shards[i]
		all.Merge(s.hist)
		res.Requests += s.requests
		res.Responses += s.responses
		for k, n := range s.errors {
			res.Errors[k] += n
			res.Failed += n
		}
		for k, m := range s.examples {
			if _, ok := res.Examples[k]; !ok {
				res.Examples[k] = m
			}
		}
	}
	if elapsed > 0 {
		res.RPS = float64(res.Responses) / elapsed.Seconds()
	}
	res.Latency = summarise(all)
	return res, nil
}

// newTransport is the one transport of a run: a connection per worker kept
// alive between requests, no gzip (we measure the server, not inflate).
func newTransport(concurrency int, timeout time.Duration) *http.Transport {
	return &http.Transport{
		Proxy:                 nil, // measure the target, never an environment proxy
		DialContext:           (&net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxConnsPerHost:       concurrency,
		MaxIdleConnsPerHost:   concurrency,
		MaxIdleConns:          concurrency,
		IdleConnTimeout:       90 * time.Second,
		DisableCompression:    true,
		ResponseHeaderTimeout: timeout,
	}
}

// shard is a share of the run's counters; workers are spread over a few
// shards so they rarely wait on each other's lock, while 3,000 workers do
// not need 3,000 histograms.
type shard struct {
	mu        sync.Mutex
	hist      *hdrhistogram.Histogram
	requests  int
	responses int
	errors    map[string]int
	examples  map[string]string
}

func (s *shard) record(latency time.Duration, responded bool, kind string, err error) {
	s.mu.Lock()
	s.requests++
	if responded {
		us := min(max(latency.Microseconds(), histMin), histMax)
		_ = s.hist.RecordValue(us) // cannot fail: us is within the histogram's range
		s.responses++
	}
	if kind != "" {
		s.errors[kind]++
		if _, ok := s.examples[kind]; !ok && err != nil {
			s.examples[kind] = err.Error()
		}
	}
	s.mu.Unlock()
}

type worker struct {
	tr      *http.Transport // for https:// targets, or all of them with Options.StdClient
	std     bool
	timeout time.Duration
	shard   *shard
	buf     bytes.Buffer // reused for bodies that are checked

	conn     *wireConn // this worker's keep-alive connection (wire client)
	connAddr string
}

func (w *worker) send(ctx context.Context, r *Request) {
	if r.raw != nil && !w.std {
		w.sendWire(r)
		return
	}
	w.sendStd(ctx, r)
}

// finish records one request's outcome.
func (w *worker) finish(latency time.Duration, status int, checkErr, err error) {
	switch {
	case err != nil: // no complete reply: a transport failure
		w.shard.record(0, false, Kind(err), err)
	case status < 200 || status > 299:
		w.shard.record(latency, true, StatusKind(status), nil)
	case checkErr != nil:
		w.shard.record(latency, true, KindMismatch, checkErr)
	default:
		w.shard.record(latency, true, "", nil)
	}
}

func (w *worker) check(r *Request, status int) error {
	if r.Check == nil || status < 200 || status > 299 {
		return nil
	}
	return r.Check(status, w.buf.Bytes())
}

func (w *worker) sendStd(parent context.Context, r *Request) {
	ctx, cancel := context.WithTimeout(parent, w.timeout)
	defer cancel()
	req := r.tmpl.WithContext(ctx)
	if r.body != nil {
		req.Body = io.NopCloser(bytes.NewReader(r.body))
	}
	start := time.Now()
	resp, err := w.tr.RoundTrip(req)
	if err != nil {
		w.finish(0, 0, nil, err)
		return
	}
	w.buf.Reset()
	if r.Check != nil {
		_, err = w.buf.ReadFrom(io.LimitReader(resp.Body, MaxCheckBody))
	}
	if err == nil {
		_, err = io.Copy(io.Discard, resp.Body)
	}
	resp.Body.Close()
	latency := time.Since(start)
	if err != nil {
		w.finish(0, 0, nil, err)
		return
	}
	w.finish(latency, resp.StatusCode, w.check(r, resp.StatusCode), nil)
}

func (w *worker) sendWire(r *Request) {
	start := time.Now()
	deadline := start.Add(w.timeout)
	var keep *bytes.Buffer
	if r.Check != nil {
		keep = &w.buf
	}
	for attempt := 0; ; attempt++ {
		if w.conn == nil || w.connAddr != r.addr {
			w.closeConn()
			c, err := (&net.Dialer{Deadline: deadline}).Dial("tcp", r.addr)
			if err != nil {
				w.finish(0, 0, nil, err)
				return
			}
			w.conn, w.connAddr = &wireConn{c: c, br: bufio.NewReaderSize(c, 16<<10)}, r.addr
		}
		w.buf.Reset()
		status, closeAfter, err := w.conn.roundTrip(r.raw, r.tmpl.Method == http.MethodHead, deadline, keep, MaxCheckBody)
		if err != nil {
			stale := w.conn.reused && status == 0 && Kind(err) == KindReset
			w.closeConn()
			// A keep-alive connection the server closed while idle fails
			// before any reply byte; net/http retries on a fresh one, so do we.
			if stale && attempt == 0 {
				continue
			}
			w.finish(0, 0, nil, err)
			return
		}
		w.conn.reused = true
		if closeAfter {
			w.closeConn()
		}
		w.finish(time.Since(start), status, w.check(r, status), nil)
		return
	}
}

func (w *worker) closeConn() {
	if w.conn != nil {
		w.conn.c.Close()
		w.conn = nil
	}
}
