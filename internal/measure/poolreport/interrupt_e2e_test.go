package poolreport

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/cloudlabs/cloudlabs/internal/measure/poolreport/poolreporttest"
	"github.com/cloudlabs/cloudlabs/internal/pool/ring"
)

// cancelOn cancels when a progress line contains marker: an interrupt at
// a known point of the run, without timing.
type cancelOn struct {
	mu     sync.Mutex
	marker string
	cancel context.CancelFunc
	log    strings.Builder
}

func (c *cancelOn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.log.Write(p)
	if strings.Contains(string(p), c.marker) {
		c.cancel()
	}
	return len(p), nil
}

// TestInterruptPutsThePoolBack stops a run in the middle of auto-grow (the
// pool in automatic mode, its nodes shrunk to a small capacity, its size
// changed) and checks that the pool is back as it was found, and that the
// report says it was interrupted and what it restored.
func TestInterruptPutsThePoolBack(t *testing.T) {
	st := poolreporttest.Start(t, 3, 2, ring.SchemeLab)
	mgr := &Manager{URL: st.ManagerURL, Token: st.Token}
	found := readPoolState(t, mgr)

	rctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := &cancelOn{marker: "auto-grow: ", cancel: cancel}
	cfg := smallConfig(t)
	r := &Runner{Config: cfg, Manager: mgr, Gallery: &Gallery{URL: st.GalleryURL}, Log: log}
	rep, err := r.Run(rctx, []string{AutoGrow, Movement})
	t.Logf("progress:\n%s", log.log.String())
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Interrupted || rep.Movement != nil {
		t.Errorf("interrupted %v, movement %v: want interrupted before the movement scenario", rep.Interrupted, rep.Movement != nil)
	}
	if len(rep.Left) != 0 || len(rep.Restored) != 3 {
		t.Errorf("restored %q, not restored %q: want size, config and policy restored", rep.Restored, rep.Left)
	}
	found.check(t, mgr)
	if md := Markdown(rep); !strings.Contains(md, "**Interrupted**") {
		t.Error("report.md does not say the run was interrupted")
	}
}
