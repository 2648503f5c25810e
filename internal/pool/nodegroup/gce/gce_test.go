package gce

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudlabs/cloudlabs/internal/pool/nodegroup"
)

// fakeGCE is the metadata server and Compute Engine for one instance; it
// records "METHOD path" of every compute call and counts token fetches.
type fakeGCE struct {
	t           *testing.T
	mu          sync.Mutex
	status      string
	polls, slow int
	calls       []string
	tokens      int
}

func (f *fakeGCE) metadata(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Metadata-Flavor") != "Google" {
		http.Error(w, "missing Metadata-Flavor", http.StatusForbidden)
		return
	}
	f.mu.Lock()
	f.tokens++
	f.mu.Unlock()
	json.NewEncoder(w).Encode(map[string]any{"access_token": "ya29.test", "expires_in": 3599, "token_type": "Bearer"})
}

func (f *fakeGCE) compute(w http.ResponseWriter, r *http.Request) {
	if got := r.Header.Get("Authorization"); got != "Bearer ya29.test" {
		f.t.Errorf("Authorization %q, want the metadata token", got)
		http.Error(w, `{"error": {"code": 401}}`, http.StatusUnauthorized)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, r.Method+" "+r.URL.Path)
	const inst = "/compute/v1/projects/lab-1/zones/europe-west1-b/instances/pool-node-2"
	switch {
	case r.Method == http.MethodPost && r.URL.Path == inst+"/start":
		f.status, f.polls = "STAGING", 0
		json.NewEncoder(w).Encode(map[string]any{"kind": "compute#operation", "status": "RUNNING"})
	case r.Method == http.MethodPost && r.URL.Path == inst+"/stop":
		f.status, f.polls = "STOPPING", 0
		json.NewEncoder(w).Encode(map[string]any{"kind": "compute#operation", "status": "RUNNING"})
	case r.Method == http.MethodGet && r.URL.Path == inst:
		f.polls++
		if f.polls > f.slow {
			switch f.status {
			case "STAGING":
				f.status = "RUNNING"
			case "STOPPING":
				f.status = "TERMINATED"
			}
		}
		json.NewEncoder(w).Encode(map[string]any{"name": "pool-node-2", "status": f.status})
	default:
		http.Error(w, `{"error": {"code": 404, "message": "not found"}}`, http.StatusNotFound)
	}
}

func (f *fakeGCE) log() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.calls, "\n")
}

func newGroup(t *testing.T, f *fakeGCE, instance string) (*Group, nodegroup.Slot) {
	mux := http.NewServeMux()
	mux.HandleFunc("/computeMetadata/v1/instance/service-accounts/default/token", f.metadata)
	mux.HandleFunc("/compute/v1/", f.compute)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	s := Slot{Slot: nodegroup.Slot{Name: "pool-2", Addr: "10.1.0.12:11211", Admin: "10.1.0.12:8081"}, Instance: instance}
	g, err := New("lab-1", "europe-west1-b", []Slot{s})
	if err != nil {
		t.Fatal(err)
	}
	g.BaseURL = srv.URL + "/compute/v1"
	g.TokenURL = srv.URL + "/computeMetadata/v1/instance/service-accounts/default/token"
	g.Poll, g.Timeout = time.Millisecond, 10*time.Second
	return g, s.Slot
}

const inst = "/compute/v1/projects/lab-1/zones/europe-west1-b/instances/pool-node-2"

func TestStartPostsStartAndWaitsForRunning(t *testing.T) {
	f := &fakeGCE{t: t, status: "TERMINATED", slow: 1}
	g, s := newGroup(t, f, "pool-node-2")
	if err := g.Start(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{"GET " + inst, "POST " + inst + "/start", "GET " + inst, "GET " + inst}, "\n")
	if got := f.log(); got != want {
		t.Errorf("calls:\n%s\nwant:\n%s", got, want)
	}
	if f.tokens != 1 {
		t.Errorf("metadata token fetched %d times, want 1 (cached)", f.tokens)
	}
}

func TestStopPostsStopAndWaitsForTerminated(t *testing.T) {
	f := &fakeGCE{t: t, status: "RUNNING", slow: 2}
	g, s := newGroup(t, f, "pool-node-2")
	if err := g.Stop(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{"POST " + inst + "/stop", "GET " + inst, "GET " + inst, "GET " + inst}, "\n")
	if got := f.log(); got != want {
		t.Errorf("calls:\n%s\nwant:\n%s", got, want)
	}
}

func TestStartErrorCarriesTheAPIAnswer(t *testing.T) {
	f := &fakeGCE{t: t, status: "TERMINATED"}
	g, s := newGroup(t, f, "no-such-instance")
	g.Timeout = 50 * time.Millisecond
	err := g.Start(context.Background(), s)
	if err == nil || !strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), "pool-2") {
		t.Errorf("Start = %v, want the 404 for slot pool-2", err)
	}
}
