// Package control is the manager's pool logic, shared by the web app and
// the autoscaler process: membership (the first N slots, in ring order),
// epochs, growing and shrinking through a nodegroup.NodeGroup, and the
// nodes' common configuration. Every membership change holds the
// database's resize lock, so the two processes never interleave one.
package control

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/cloudlabs/cloudlabs/apps/manager/internal/store"
	"github.com/cloudlabs/cloudlabs/internal/pool/autoscale"
	"github.com/cloudlabs/cloudlabs/internal/pool/metrics/promstore"
	"github.com/cloudlabs/cloudlabs/internal/pool/nodegroup"
)

// Controller changes the pool. Safe for concurrent use.
type Controller struct {
	Store *store.Store
	Group nodegroup.NodeGroup
	Nodes *NodeClient
	// Max caps the pool below the slot count (cachepool:maxNodes); 0
	// means every slot, and never more than 8.
	Max int
	// TargetsFile, when set, is rewritten with the members after every
	// membership change (Prometheus file_sd).
	TargetsFile string
	// JoinTimeout bounds the wait for a started node to answer `version`
	// (default 2 min: an EC2 instance boots in about one).
	JoinTimeout time.Duration
	// ReadyPoll is the time between readiness probes (default 200 ms).
	ReadyPoll time.Duration
	Logger    *slog.Logger
}

// Bound errors: a resize past the pool's limits (HTTP 409).
var (
	ErrBound = errors.New("pool size limit")
	ErrMode  = errors.New("wrong mode")
)

// MaxNodes is the most nodes the pool can have.
func (c *Controller) MaxNodes() int {
	n := min(c.Group.MaxSize(), autoscale.MaxPoolSize)
	if c.Max > 0 {
		n = min(n, c.Max)
	}
	return n
}

// Members are the active slots of p.
func (c *Controller) Members(p store.Pool) []nodegroup.Slot {
	slots := c.Group.Slots()
	return slots[:min(p.Active, len(slots))]
}

// Addrs are the members' memcached addresses in ring order.
func (c *Controller) Addrs(p store.Pool) []string {
	out := []string{}
	for _, s := range c.Members(p) {
		out = append(out, s.Addr)
	}
	return out
}

func (c *Controller) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}

// Step is what one resize did.
type Step struct {
	From, To int
	Epoch    int64
	Duration time.Duration
}

// Step grows (+1) or shrinks (-1) the pool by one node from the manual
// controls; at a bound or in auto mode it returns ErrBound or ErrMode.
func (c *Controller) Step(ctx context.Context, delta int) (Step, error) {
	unlock, err := c.Store.LockResize(ctx)
	if err != nil {
		return Step{}, err
	}
	defer unlock()
	p, err := c.Store.Get(ctx)
	if err != nil {
		return Step{}, err
	}
	if p.Policy.Mode == autoscale.Auto {
		return Step{From: p.Active, To: p.Active, Epoch: p.Epoch}, fmt.Errorf("%w: the pool is in auto mode, where the autoscaler sizes it; switch to manual mode (PUT /api/policy {\"mode\": \"manual\"}) to resize by hand", ErrMode)
	}
	want := p.Active + delta
	if delta > 0 && want > c.MaxNodes() {
		return Step{From: p.Active, To: p.Active, Epoch: p.Epoch}, fmt.Errorf("%w: cannot grow: the pool already has %d nodes, the most allowed (maxNodes %d)", ErrBound, p.Active, c.MaxNodes())
	}
	if delta < 0 && want < autoscale.MinPoolSize {
		return Step{From: p.Active, To: p.Active, Epoch: p.Epoch}, fmt.Errorf("%w: cannot shrink: the pool has %d node, the fewest allowed (1)", ErrBound, p.Active)
	}
	return c.resizeLocked(ctx, p, want)
}

// Resize sets the pool to n nodes, clamped to 1..MaxNodes (the
// autoscaler's path; it checks no mode: the autoscaler decides in auto
// mode only).
func (c *Controller) Resize(ctx context.Context, n int) (Step, error) {
	unlock, err := c.Store.LockResize(ctx)
	if err != nil {
		return Step{}, err
	}
	defer unlock()
	p, err := c.Store.Get(ctx)
	if err != nil {
		return Step{}, err
	}
	return c.resizeLocked(ctx, p, max(autoscale.MinPoolSize, min(n, c.MaxNodes())))
}

// resizeLocked moves the membership from p.Active to want. Growing starts
// the new slots, waits until each answers `version`, configures them with
// the remembered capacity and policy and only then makes them members (one
// epoch). Shrinking removes the slots from the membership first (one
// epoch), so no consumer routes to them, and then stops them.
func (c *Controller) resizeLocked(ctx context.Context, p store.Pool, want int) (Step, error) {
	start := time.Now()
	st := Step{From: p.Active, To: p.Active, Epoch: p.Epoch}
	slots := c.Group.Slots()
	if want < autoscale.MinPoolSize || want > min(len(slots), c.MaxNodes()) {
		return st, fmt.Errorf("%w: %d nodes: want 1..%d", ErrBound, want, c.MaxNodes())
	}
	if want == p.Active {
		return st, nil
	}
	if want > p.Active {
		joining := slots[p.Active:want]
		if err := c.parallel(joining, func(s nodegroup.Slot) error { return c.join(ctx, p, s) }); err != nil {
			// Leave no half-started slot running outside the membership.
			_ = c.parallel(joining, func(s nodegroup.Slot) error { return c.Group.Stop(context.WithoutCancel(ctx), s) })
			st.Duration = time.Since(start)
			return st, fmt.Errorf("grow %d -> %d: %w", p.Active, want, err)
		}
		np, err := c.Store.SetActive(ctx, want)
		if err != nil {
			return st, err
		}
		c.writeTargets(np)
		st.To, st.Epoch, st.Duration = want, np.Epoch, time.Since(start)
		c.logger().Info("pool grew", "from", p.Active, "to", want, "epoch", np.Epoch, "took", st.Duration)
		return st, nil
	}
	np, err := c.Store.SetActive(ctx, want)
	if err != nil {
		return st, err
	}
	c.writeTargets(np)
	st.To, st.Epoch = want, np.Epoch
	err = c.parallel(slots[want:p.Active], func(s nodegroup.Slot) error { return c.Group.Stop(ctx, s) })
	st.Duration = time.Since(start)
	if err != nil {
		return st, fmt.Errorf("shrink %d -> %d: left the membership but: %w", p.Active, want, err)
	}
	c.logger().Info("pool shrank", "from", p.Active, "to", want, "epoch", np.Epoch, "took", st.Duration)
	return st, nil
}

func (c *Controller) join(ctx context.Context, p store.Pool, s nodegroup.Slot) error {
	if err := c.Group.Start(ctx, s); err != nil {
		return err
	}
	timeout, poll := c.JoinTimeout, c.ReadyPoll
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	if poll <= 0 {
		poll = 200 * time.Millisecond
	}
	deadline := time.Now().Add(timeout)
	if err := nodegroup.WaitReady(ctx, c.Group, s, timeout, poll); err != nil {
		return err
	}
	// The node answers `version` on its data port; its admin API may come
	// up a moment later (two listeners): a refused connection is retried
	// until the join's deadline, any other error is final.
	for {
		err := c.Nodes.Configure(ctx, s.Admin, p.CapacityBytes, p.CachePolicy)
		if err == nil {
			return nil
		}
		var dial *net.OpError
		if !errors.As(err, &dial) || time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("slot %s: configure: %w", s.Name, err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(poll):
		}
	}
}

// parallel runs f for every slot at once and joins the errors.
func (c *Controller) parallel(slots []nodegroup.Slot, f func(nodegroup.Slot) error) error {
	errs := make([]error, len(slots))
	var wg sync.WaitGroup
	for i, s := range slots {
		wg.Go(func() { errs[i] = f(s) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (c *Controller) writeTargets(p store.Pool) {
	if c.TargetsFile == "" {
		return
	}
	var ts []promstore.Target
	for _, s := range c.Members(p) {
		ts = append(ts, promstore.Target{Node: s.Name, Addr: s.Admin})
	}
	if err := os.MkdirAll(filepath.Dir(c.TargetsFile), 0o755); err != nil {
		c.logger().Error("write prometheus targets", "err", err)
	}
	if err := promstore.WriteTargets(c.TargetsFile, ts); err != nil {
		c.logger().Error("write prometheus targets", "err", err)
	}
}

// Policies are cachenode's eviction policies.
var Policies = []string{"lru", "random", "lfu"}

// MaxCapacity is cachenode's largest capacity (1 TB).
const MaxCapacity = 1 << 40

// CheckConfig validates a node configuration.
func CheckConfig(capacity int64, policy string) error {
	if capacity <= 0 || capacity > MaxCapacity {
		return fmt.Errorf("capacity_bytes = %d: want 1 to %d bytes (1 TB)", capacity, int64(MaxCapacity))
	}
	if !slices.Contains(Policies, policy) {
		return fmt.Errorf("policy = %q: want one of lru, random, lfu", policy)
	}
	return nil
}

// Configure remembers capacity and policy and applies them to every
// member. It holds the resize lock so a node joining meanwhile cannot get
// the old configuration.
func (c *Controller) Configure(ctx context.Context, capacity int64, policy string) (store.Pool, error) {
	if err := CheckConfig(capacity, policy); err != nil {
		return store.Pool{}, err
	}
	unlock, err := c.Store.LockResize(ctx)
	if err != nil {
		return store.Pool{}, err
	}
	defer unlock()
	p, err := c.Store.SetConfig(ctx, capacity, policy)
	if err != nil {
		return p, err
	}
	return p, c.parallel(c.Members(p), func(s nodegroup.Slot) error {
		if err := c.Nodes.Configure(ctx, s.Admin, capacity, policy); err != nil {
			return fmt.Errorf("node %s: %w", s.Name, err)
		}
		return nil
	})
}

// Clear flushes every member.
func (c *Controller) Clear(ctx context.Context) (int, error) {
	p, err := c.Store.Get(ctx)
	if err != nil {
		return 0, err
	}
	members := c.Members(p)
	return len(members), c.parallel(members, func(s nodegroup.Slot) error {
		if err := c.Nodes.Clear(ctx, s.Admin); err != nil {
			return fmt.Errorf("node %s: %w", s.Name, err)
		}
		return nil
	})
}

// Reconcile brings the slots in line with the stored membership at start:
// members started, ready and configured, the other slots parked. A later
// `pulumi up` or `labctl up` that starts every slot is corrected here; the
// stored size is never changed.
func (c *Controller) Reconcile(ctx context.Context) error {
	unlock, err := c.Store.LockResize(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	p, err := c.Store.Get(ctx)
	if err != nil {
		return err
	}
	if p.Active > c.MaxNodes() {
		// Fewer slots than the stored size (the stack shrank maxNodes).
		if p, err = c.Store.SetActive(ctx, c.MaxNodes()); err != nil {
			return err
		}
	}
	slots := c.Group.Slots()
	errJoin := c.parallel(slots[:p.Active], func(s nodegroup.Slot) error { return c.join(ctx, p, s) })
	errPark := c.parallel(slots[p.Active:], func(s nodegroup.Slot) error { return c.Group.Stop(ctx, s) })
	c.writeTargets(p)
	return errors.Join(errJoin, errPark)
}
