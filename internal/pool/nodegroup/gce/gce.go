// Package gce parks and unparks the pool's slots as Compute Engine
// instances through the REST API (instances.start / instances.stop, then
// instances.get until RUNNING / TERMINATED), authenticated with the VM's
// service-account token from the metadata server. No client library: three
// REST calls do not justify one. Never a managed instance group.
package gce

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/cloudlabs/cloudlabs/internal/pool/nodegroup"
)

// Defaults for Group's endpoints.
const (
	DefaultBaseURL  = "https://compute.googleapis.com/compute/v1"
	DefaultTokenURL = "http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token"
)

// Slot is one pool instance.
type Slot struct {
	nodegroup.Slot
	// Instance is the instance's name; Zone its zone (the group's when empty).
	Instance string `json:"instance"`
	Zone     string `json:"zone,omitempty"`
}

// Group is a NodeGroup of GCE instances. It is safe for concurrent use
// (the token cache has a lock); calls for one slot must not overlap.
type Group struct {
	Project, Zone string
	// BaseURL and TokenURL default to Compute Engine and the metadata
	// server; tests point them at httptest servers.
	BaseURL, TokenURL string
	Client            *http.Client
	// Poll is the time between instances.get calls (default 2 s);
	// Timeout bounds the wait for RUNNING or TERMINATED (default 5 min).
	Poll, Timeout time.Duration

	// List holds the slots; it gives Group MaxSize and Slots.
	*nodegroup.List[Slot]

	mu      sync.Mutex
	token   string
	expires time.Time
}

var _ nodegroup.NodeGroup = (*Group)(nil)

// New checks the slots and returns their group.
func New(project, zone string, slots []Slot) (*Group, error) {
	if project == "" || zone == "" {
		return nil, fmt.Errorf("gce: project %q and zone %q are both required", project, zone)
	}
	list, err := nodegroup.NewList("gce", slots, func(s Slot) error {
		if s.Instance == "" {
			return fmt.Errorf("gce slot %s: instance is required", s.Name)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &Group{Project: project, Zone: zone, BaseURL: DefaultBaseURL, TokenURL: DefaultTokenURL,
		Client: &http.Client{Timeout: 30 * time.Second}, Poll: 2 * time.Second, Timeout: 5 * time.Minute,
		List: list}, nil
}

func (g *Group) slot(s nodegroup.Slot) (Slot, error) {
	t, err := g.Lookup(s)
	if err == nil && t.Zone == "" {
		t.Zone = g.Zone
	}
	return t, err
}

func (g *Group) instanceURL(t Slot) string {
	return fmt.Sprintf("%s/projects/%s/zones/%s/instances/%s", strings.TrimRight(g.BaseURL, "/"),
		url.PathEscape(g.Project), url.PathEscape(t.Zone), url.PathEscape(t.Instance))
}

// Start starts the instance (a no-op for Compute Engine when it runs) and
// waits until it is RUNNING.
func (g *Group) Start(ctx context.Context, s nodegroup.Slot) error {
	t, err := g.slot(s)
	if err != nil {
		return err
	}
	if st, err := g.status(ctx, t); err == nil && st == "RUNNING" {
		return nil
	}
	if err := g.do(ctx, http.MethodPost, g.instanceURL(t)+"/start", nil); err != nil {
		return fmt.Errorf("gce slot %s: start: %w", s.Name, err)
	}
	return g.wait(ctx, t, "RUNNING")
}

// Stop stops the instance and waits until it is TERMINATED (Compute
// Engine's name for stopped).
func (g *Group) Stop(ctx context.Context, s nodegroup.Slot) error {
	t, err := g.slot(s)
	if err != nil {
		return err
	}
	if err := g.do(ctx, http.MethodPost, g.instanceURL(t)+"/stop", nil); err != nil {
		return fmt.Errorf("gce slot %s: stop: %w", s.Name, err)
	}
	return g.wait(ctx, t, "TERMINATED")
}

// Ready asks the slot's node for its version.
func (g *Group) Ready(ctx context.Context, s nodegroup.Slot) error {
	_, err := nodegroup.Version(ctx, s.Addr)
	return err
}

func (g *Group) status(ctx context.Context, t Slot) (string, error) {
	var inst struct {
		Status string `json:"status"`
	}
	if err := g.do(ctx, http.MethodGet, g.instanceURL(t), &inst); err != nil {
		return "", err
	}
	return inst.Status, nil
}

func (g *Group) wait(ctx context.Context, t Slot, want string) error {
	ctx, cancel := context.WithTimeout(ctx, g.Timeout)
	defer cancel()
	tick := time.NewTicker(g.Poll)
	defer tick.Stop()
	for {
		st, err := g.status(ctx, t)
		if err == nil && st == want {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("gce slot %s: wait for %s: last status %q, error %v: %w", t.Name, want, st, err, ctx.Err())
		case <-tick.C:
		}
	}
}

// do sends one authorized request and decodes a 2xx JSON answer into out.
func (g *Group) do(ctx context.Context, method, u string, out any) error {
	tok, err := g.accessToken(ctx)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", "application/json")
	resp, err := g.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, u, resp.Status, strings.TrimSpace(string(body)))
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			return fmt.Errorf("%s %s: decode: %w", method, u, err)
		}
	}
	return nil
}

// accessToken returns the service account's token from the metadata
// server, cached until a minute before it expires.
func (g *Group) accessToken(ctx context.Context) (string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.token != "" && time.Now().Before(g.expires) {
		return g.token, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.TokenURL, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Metadata-Flavor", "Google")
	resp, err := g.Client.Do(req)
	if err != nil {
		return "", fmt.Errorf("gce: metadata token: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return "", fmt.Errorf("gce: metadata token: %s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	var t struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
		TokenType   string `json:"token_type"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&t); err != nil || t.AccessToken == "" {
		return "", fmt.Errorf("gce: metadata token: want {\"access_token\": ...}: %v", err)
	}
	g.token, g.expires = t.AccessToken, time.Now().Add(time.Duration(t.ExpiresIn)*time.Second-time.Minute)
	return g.token, nil
}
