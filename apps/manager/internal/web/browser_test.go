package web

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cloudlabs/cloudlabs/internal/pool/metrics"
	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
)

var update = flag.Bool("update", false, "rewrite apps/manager/docs/dashboard.png from the browser test")

// TestBrowserSignInAndGrow drives Debian's chromium (headless) through the
// sign-in form to the dashboard, clicks grow and reads the node count the
// page shows after the resize.
func TestBrowserSignInAndGrow(t *testing.T) {
	exec := testkit.Binary(t, "chromium", "chromium")
	e := newEnv(t, 3, 1)
	// Thirty minutes of a pool warming up, for the charts.
	now := time.Now().Truncate(time.Minute)
	var pts []metrics.Point
	for i := range 31 {
		p := metrics.Point{Time: now.Add(time.Duration(i-30) * time.Minute), Nodes: 1 + i/12,
			Requests: float64(600 + 40*i), Hits: float64(200 + 15*i), Misses: float64(300 - 8*i),
			Items: float64(50 * i), Bytes: float64(i * 400 << 10)}
		p.Fill()
		pts = append(pts, p)
	}
	e.met.SetSeries(pts)

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exec), chromedp.NoSandbox,
		chromedp.Headless, chromedp.WindowSize(1280, 1800), chromedp.Flag("disable-gpu", true))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 60*time.Second)
	defer cancel()

	err := chromedp.Do(ctx,
		chromedp.Navigate(e.srv.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), token),
		chromedp.Click(chromedp.ID("sign-in")),
		chromedp.WaitVisible(chromedp.ID("node-count")),
	)
	if err != nil {
		t.Fatalf("sign in: %v", err)
	}
	text := func(sel string) string {
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	if got := text("node-count"); got != "1" {
		t.Fatalf("dashboard shows %q nodes, want 1", got)
	}
	for _, id := range []string{"nodes", "miss-rate", "hit-rate", "items", "bytes", "requests"} {
		if got := text("current-" + id); got == "" || got == "no data" {
			t.Errorf("chart %s shows no current value (%q)", id, got)
		}
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("grow"))); err != nil {
		t.Fatalf("click grow: %v", err)
	}
	testkit.Eventually(t, "the dashboard showing 2 nodes", 30*time.Second, func() bool {
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("node-count")))
		return err == nil && strings.TrimSpace(s) == "2"
	})
	if v := e.pool(); len(v.Nodes) != 2 {
		t.Errorf("GET /api/pool after the click: %v, want 2 nodes", v.Nodes)
	}
	flash, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("flash")?.textContent ?? ""`))
	if got := flash; err != nil || !strings.Contains(got, "grew by one") {
		t.Errorf("flash %q, want the grow confirmation", got)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if len(png) < 1000 {
		t.Fatalf("screenshot of %d bytes", len(png))
	}
	out := filepath.Join(t.TempDir(), "dashboard.png")
	if *update {
		out = filepath.Join(testkit.ModuleRoot(t), "apps/manager/docs/dashboard.png")
	}
	if err := os.WriteFile(out, png, 0o644); err != nil {
		t.Fatal(err)
	}
}
