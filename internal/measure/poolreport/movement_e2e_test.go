package poolreport

import (
	"context"
	"strings"
	"testing"

	"github.com/cloudlabs/cloudlabs/internal/measure/poolreport/poolreporttest"
	"github.com/cloudlabs/cloudlabs/internal/pool/ring"
)

// TestMovementOnRealPoolJump measures the jump scheme: a key moves only
// to the new node growing, only off the removed node shrinking, and the
// misses after each resize are exactly the keys the ring moves.
func TestMovementOnRealPoolJump(t *testing.T) {
	st := poolreporttest.Start(t, 3, 2, ring.SchemeJump)
	cfg := smallConfig(t)
	var log strings.Builder
	r := &Runner{Config: cfg, Manager: &Manager{URL: st.ManagerURL, Token: st.Token}, Gallery: &Gallery{URL: st.GalleryURL}, Log: &log}
	rep, err := r.Run(context.Background(), []string{Movement})
	t.Logf("progress:\n%s", log.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Errors) != 0 || len(rep.Left) != 0 {
		t.Fatalf("errors %q, not restored %q", rep.Errors, rep.Left)
	}
	mv := rep.Movement
	if mv == nil || mv.Scheme != ring.SchemeJump || len(mv.Measured) != 4 {
		t.Fatalf("movement %+v: want the jump scheme measured over 1→2, 2→3, 3→2, 2→1", mv)
	}
	for _, m := range mv.Measured {
		if m.WarmMisses != float64(cfg.MovementKeys) || m.Errors != 0 || !m.RoutingMatches {
			t.Errorf("%d→%d: warm misses %.0f, errors %.0f, routing %s", m.FromN, m.ToN, m.WarmMisses, m.Errors, m.Routing)
		}
		if m.Share != m.Predicted {
			t.Errorf("%d→%d: measured %.4f, the ring moves %.4f of these keys", m.FromN, m.ToN, m.Share, m.Predicted)
		}
	}
}
