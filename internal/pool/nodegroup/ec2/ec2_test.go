package ec2

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/cloudlabs/cloudlabs/internal/pool/nodegroup"
)

// fakeEC2 answers the EC2 Query API for one instance and records every
// request as "Action InstanceId.1". A started instance is pending for
// pendingPolls DescribeInstances calls, then running; a stopped one is
// stopping for as many, then stopped.
type fakeEC2 struct {
	t            *testing.T
	id           string
	mu           sync.Mutex
	state        string
	polls        int
	pendingPolls int
	calls        []string
	// arrived, when set, runs as each request arrives, before its answer.
	arrived func(calls []string)
}

func (f *fakeEC2) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		f.t.Errorf("method %s, want POST", r.Method)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		f.t.Errorf("Content-Type %q, want a form", ct)
	}
	if auth := r.Header.Get("Authorization"); !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIDTEST/") || !strings.Contains(auth, "/us-east-1/ec2/aws4_request") {
		f.t.Errorf("Authorization %q, want SigV4 by AKIDTEST for ec2 in us-east-1", auth)
	}
	if err := r.ParseForm(); err != nil {
		f.t.Fatal(err)
	}
	action, id := r.PostForm.Get("Action"), r.PostForm.Get("InstanceId.1")
	if v := r.PostForm.Get("Version"); v != "2016-11-15" {
		f.t.Errorf("Version %q, want 2016-11-15", v)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, action+" "+id)
	if f.arrived != nil {
		f.arrived(f.calls)
	}
	if id != f.id {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `<Response><Errors><Error><Code>InvalidInstanceID.NotFound</Code><Message>no %s</Message></Error></Errors><RequestID>r</RequestID></Response>`, id)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	switch action {
	case "StartInstances":
		f.state, f.polls = "pending", 0
		fmt.Fprintf(w, `<StartInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId><instancesSet><item><instanceId>%s</instanceId><currentState><code>0</code><name>pending</name></currentState><previousState><code>80</code><name>stopped</name></previousState></item></instancesSet></StartInstancesResponse>`, id)
	case "StopInstances":
		f.state, f.polls = "stopping", 0
		fmt.Fprintf(w, `<StopInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId><instancesSet><item><instanceId>%s</instanceId><currentState><code>64</code><name>stopping</name></currentState><previousState><code>16</code><name>running</name></previousState></item></instancesSet></StopInstancesResponse>`, id)
	case "DescribeInstances":
		f.polls++
		if f.polls > f.pendingPolls {
			switch f.state {
			case "pending":
				f.state = "running"
			case "stopping":
				f.state = "stopped"
			}
		}
		fmt.Fprintf(w, `<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId><reservationSet><item><reservationId>r-1</reservationId><instancesSet><item><instanceId>%s</instanceId><instanceState><code>0</code><name>%s</name></instanceState></item></instancesSet></item></reservationSet></DescribeInstancesResponse>`, id, f.state)
	default:
		f.t.Errorf("unexpected action %q", action)
		w.WriteHeader(http.StatusBadRequest)
	}
}

func (f *fakeEC2) log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func newGroup(t *testing.T, f *fakeEC2) (*Group, nodegroup.Slot) {
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	api := ec2.New(ec2.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
	})
	s := Slot{Slot: nodegroup.Slot{Name: "pool-1", Addr: "10.0.1.11:11211", Admin: "10.0.1.11:8081"}, InstanceID: "i-0abc"}
	g, err := New(api, []Slot{s})
	if err != nil {
		t.Fatal(err)
	}
	g.Poll, g.Timeout = time.Millisecond, 10*time.Second
	return g, s.Slot
}

func TestStartSendsStartInstancesAndWaitsForRunning(t *testing.T) {
	f := &fakeEC2{t: t, id: "i-0abc", state: "stopped", pendingPolls: 2}
	g, s := newGroup(t, f)
	if err := g.Start(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"DescribeInstances i-0abc", // already running? no: stopped
		"StartInstances i-0abc",
		"DescribeInstances i-0abc", "DescribeInstances i-0abc", "DescribeInstances i-0abc", // pending, pending, running
	}
	if got := f.log(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestStartOfRunningInstanceSendsNothing(t *testing.T) {
	f := &fakeEC2{t: t, id: "i-0abc", state: "running"}
	g, s := newGroup(t, f)
	if err := g.Start(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if got := f.log(); len(got) != 1 || got[0] != "DescribeInstances i-0abc" {
		t.Errorf("requests %q, want one DescribeInstances", got)
	}
}

func TestStopSendsStopInstancesAndWaitsForStopped(t *testing.T) {
	f := &fakeEC2{t: t, id: "i-0abc", state: "running", pendingPolls: 1}
	g, s := newGroup(t, f)
	if err := g.Stop(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	want := []string{"StopInstances i-0abc", "DescribeInstances i-0abc", "DescribeInstances i-0abc"}
	if got := f.log(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("requests %q, want %q", got, want)
	}
}

func TestStartWaitIsBounded(t *testing.T) {
	f := &fakeEC2{t: t, id: "i-0abc", state: "stopped", pendingPolls: 1 << 30}
	g, s := newGroup(t, f)
	g.Timeout = 50 * time.Millisecond
	err := g.Start(context.Background(), s)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "wait for i-0abc running") {
		t.Errorf("Start = %v, want it to give up waiting for i-0abc running at its Timeout", err)
	}
}

// TestStartWaitNamesTheLastState: a wait that ends early says what state
// the instance was last seen in. The context ends when the second poll
// arrives, after the first answered "pending": the test does not depend on
// how fast this machine is.
func TestStartWaitNamesTheLastState(t *testing.T) {
	f := &fakeEC2{t: t, id: "i-0abc", state: "stopped", pendingPolls: 1 << 30}
	g, s := newGroup(t, f)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.arrived = func(calls []string) {
		if len(calls) == 4 {
			cancel()
		}
	}
	err := g.Start(ctx, s)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), `last state "pending"`) {
		t.Errorf("Start = %v, want the wait to end naming the last state pending", err)
	}
}

func TestStartErrorNamesSlotAndInstance(t *testing.T) {
	f := &fakeEC2{t: t, id: "i-other", state: "stopped"}
	g, s := newGroup(t, f)
	err := g.Start(context.Background(), s)
	if err == nil || !strings.Contains(err.Error(), "pool-1") || !strings.Contains(err.Error(), "i-0abc") {
		t.Errorf("Start = %v, want an error naming slot pool-1 and instance i-0abc", err)
	}
}
