// Command mcload is a closed-loop memcached text-protocol load generator:
// C connections each send one get or set (or, with -pipeline N, N of them
// in one write), read the whole reply (or all N), then send the next, for a
// fixed duration (or a fixed number of operations) against one server, so
// two servers can be compared under exactly the same load.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "mcload:", err)
		os.Exit(1)
	}
}

// Options describe the load.
type Options struct {
	Addr     string
	Conns    int
	Duration time.Duration // stop after this long; 0: no time bound
	Ops      int64         // stop after this many operations in all; 0: no count bound
	Keys     int
	Value    int
	GetRatio float64
	Seed     uint64
	Pipeline int // requests sent together per connection; 0 or 1: one at a time
}

// Result is what a run measured; OpsPerSec counts completed operations.
type Result struct {
	Addr      string  `json:"addr"`
	Conns     int     `json:"conns"`
	Seconds   float64 `json:"seconds"`
	Ops       int64   `json:"ops"`
	Gets      int64   `json:"gets"`
	Hits      int64   `json:"hits"`
	Sets      int64   `json:"sets"`
	Errors    int64   `json:"errors"`
	OpsPerSec float64 `json:"ops_per_sec"`
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mcload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o Options
	fs.StringVar(&o.Addr, "addr", "127.0.0.1:11211", "memcached server host:port")
	fs.IntVar(&o.Conns, "conns", 50, "concurrent connections, one request in flight each")
	fs.DurationVar(&o.Duration, "duration", 10*time.Second, "measurement time (after preloading the keys); 0 with -ops for no time bound")
	fs.Int64Var(&o.Ops, "ops", 0, "stop after this many operations in all (0: run for -duration)")
	fs.IntVar(&o.Keys, "keys", 10000, "distinct keys, chosen uniformly")
	fs.IntVar(&o.Value, "value", 100, "value size in bytes for sets")
	fs.Float64Var(&o.GetRatio, "get-ratio", 0.9, "fraction of operations that are gets")
	fs.Uint64Var(&o.Seed, "seed", 1, "random seed (the same seed gives the same key sequence)")
	fs.IntVar(&o.Pipeline, "pipeline", 1, "requests each connection sends in one write before reading their replies (1: no pipelining)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.Conns < 1 || o.Keys < 1 || o.Value < 0 || o.GetRatio < 0 || o.GetRatio > 1 || o.Duration < 0 || o.Ops < 0 || o.Duration == 0 && o.Ops == 0 {
		return errors.New("want -conns >= 1, -keys >= 1, -value >= 0, 0 <= -get-ratio <= 1, and -duration > 0 or -ops > 0")
	}
	if o.Pipeline < 1 || o.Pipeline > maxPipeline {
		return fmt.Errorf("flag -pipeline %d: want 1 to %d", o.Pipeline, maxPipeline)
	}
	res, err := Run(context.Background(), o)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	_, err = fmt.Fprintf(stdout, "%s: %.0f ops/s (%d ops in %.1fs, %d gets, %d hits, %d sets, %d errors, %d conns)\n",
		res.Addr, res.OpsPerSec, res.Ops, res.Seconds, res.Gets, res.Hits, res.Sets, res.Errors, res.Conns)
	return err
}

// workload holds every request pre-rendered, so the generator spends its
// CPU on the sockets, not on formatting.
type workload struct {
	gets [][]byte // "get <key>\r\n"
	sets [][]byte // "set <key> 0 0 <n>\r\n<value>\r\n"
}

func newWorkload(o Options) workload {
	var w workload
	value := bytes.Repeat([]byte("v"), o.Value)
	for i := range o.Keys {
		key := "key:" + strconv.Itoa(i)
		w.gets = append(w.gets, []byte("get "+key+"\r\n"))
		set := fmt.Appendf(nil, "set %s 0 0 %d\r\n", key, o.Value)
		set = append(append(set, value...), '\r', '\n')
		w.sets = append(w.sets, set)
	}
	return w
}

// maxPipeline bounds -pipeline: a batch of sets is written before any
// reply is read, so it must fit the socket buffers on both sides.
const maxPipeline = 1000

// opTimeout bounds one operation when the run has no time bound, so a
// stalled server ends a count-bounded run with errors instead of a hang.
const opTimeout = 10 * time.Second

// Run preloads every key, then applies the mix for o.Duration or until
// o.Ops operations have been sent, whichever comes first.
func Run(ctx context.Context, o Options) (Result, error) {
	if o.Duration <= 0 && o.Ops <= 0 {
		return Result{}, errors.New("want Duration > 0 or Ops > 0")
	}
	w := newWorkload(o)
	if err := preload(o.Addr, w); err != nil {
		return Result{}, err
	}
	conns := make([]net.Conn, o.Conns)
	for i := range conns {
		c, err := net.DialTimeout("tcp", o.Addr, 5*time.Second)
		if err != nil {
			return Result{}, fmt.Errorf("connection %d to %s: %w", i, o.Addr, err)
		}
		defer c.Close()
		conns[i] = c
	}
	if o.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Duration)
		defer cancel()
	}
	var budget *atomic.Int64 // operations not yet claimed, when counted
	if o.Ops > 0 {
		budget = new(atomic.Int64)
		budget.Store(o.Ops)
	}
	results := make([]Result, o.Conns)
	var wg sync.WaitGroup
	start := time.Now()
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if o.Duration > 0 {
				// A deadline past the run's end unblocks a worker whose server stalls.
				_ = c.SetDeadline(time.Now().Add(o.Duration + opTimeout))
			}
			results[i] = worker(ctx, c, w, o, budget, rand.New(rand.NewPCG(o.Seed, uint64(i))))
		}()
	}
	wg.Wait()
	total := Result{Addr: o.Addr, Conns: o.Conns, Seconds: time.Since(start).Seconds()}
	for _, r := range results {
		total.Ops += r.Ops
		total.Gets += r.Gets
		total.Hits += r.Hits
		total.Sets += r.Sets
		total.Errors += r.Errors
	}
	total.OpsPerSec = float64(total.Ops) / total.Seconds
	return total, nil
}

func preload(addr string, w workload) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return fmt.Errorf("preload: %w", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Minute))
	r := bufio.NewReader(c)
	for _, set := range w.sets {
		if _, err := c.Write(set); err != nil {
			return fmt.Errorf("preload: %w", err)
		}
		if line, err := r.ReadSlice('\n'); err != nil || string(line) != "STORED\r\n" {
			return fmt.Errorf("preload: got %q, %v", line, err)
		}
	}
	return nil
}

// worker runs one connection's closed loop until ctx is done or, when
// budget is set, no operation is left to claim from it; an error ends the
// worker (the connection's state is unknown after one). Each round sends
// o.Pipeline requests in one write, then reads their replies in order.
func worker(ctx context.Context, c net.Conn, w workload, o Options, budget *atomic.Int64, rng *rand.Rand) Result {
	var res Result
	r := bufio.NewReaderSize(c, 16<<10)
	depth := max(o.Pipeline, 1)
	var batch []byte
	isGet := make([]bool, 0, depth)
	for ctx.Err() == nil {
		n := depth
		if budget != nil {
			if left := budget.Add(int64(-n)); left < 0 {
				n += int(left) // only what was left to claim
				if n <= 0 {
					return res
				}
			}
			if o.Duration <= 0 {
				_ = c.SetDeadline(time.Now().Add(opTimeout))
			}
		}
		batch, isGet = batch[:0], isGet[:0]
		for range n {
			k := rng.IntN(len(w.gets))
			g := rng.Float64() < o.GetRatio
			if g {
				batch = append(batch, w.gets[k]...)
			} else {
				batch = append(batch, w.sets[k]...)
			}
			isGet = append(isGet, g)
		}
		if _, err := c.Write(batch); err != nil {
			res.Errors++
			return res
		}
		for _, g := range isGet {
			if g {
				hit, err := readGet(r)
				if err != nil {
					res.Errors++
					return res
				}
				res.Gets++
				if hit {
					res.Hits++
				}
			} else {
				line, err := r.ReadSlice('\n')
				if err != nil || string(line) != "STORED\r\n" {
					res.Errors++
					return res
				}
				res.Sets++
			}
			res.Ops++
		}
	}
	return res
}

// readGet reads one get's reply: "VALUE k f n\r\n<n bytes>\r\nEND\r\n" or "END\r\n".
func readGet(r *bufio.Reader) (bool, error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		return false, err
	}
	if string(line) == "END\r\n" {
		return false, nil
	}
	if !bytes.HasPrefix(line, []byte("VALUE ")) {
		return false, fmt.Errorf("unexpected reply %q", line)
	}
	sp := bytes.LastIndexByte(line, ' ')
	n, err := strconv.Atoi(string(bytes.TrimRight(line[sp+1:], "\r\n")))
	if err != nil {
		return false, fmt.Errorf("bad VALUE line %q", line)
	}
	if _, err := r.Discard(n + 2); err != nil {
		return false, err
	}
	if line, err = r.ReadSlice('\n'); err != nil || string(line) != "END\r\n" {
		return false, fmt.Errorf("want END, got %q (%v)", line, err)
	}
	return true, nil
}
