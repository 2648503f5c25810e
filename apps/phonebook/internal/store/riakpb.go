package store

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	riak "github.com/basho/riak-go-client"

	"github.com/cloudlabs/cloudlabs/apps/phonebook/internal/contact"
)

// RiakPB talks to Riak KV over protocol buffers with Basho's Go client. The
// client's cluster spreads commands round-robin over the nodes and moves on
// to the next node when one cannot be reached; it is safe for concurrent use.
type RiakPB struct {
	cluster *riak.Cluster
	opts    Options
}

// NewRiakPB connects to nodes (host:port each). Nodes that are down at start
// are retried by the client's health checks, so this fails only on bad
// options.
func NewRiakPB(nodes []string, opts Options) (*RiakPB, error) {
	var rn []*riak.Node
	for _, addr := range nodes {
		n, err := riak.NewNode(&riak.NodeOptions{
			RemoteAddress:  addr,
			MinConnections: 1,
			MaxConnections: 256,
			ConnectTimeout: opts.Timeout,
			RequestTimeout: opts.Timeout,
		})
		if err != nil {
			return nil, fmt.Errorf("riak node %s: %w", addr, err)
		}
		rn = append(rn, n)
	}
	c, err := riak.NewCluster(&riak.ClusterOptions{Nodes: rn, ExecutionAttempts: byte(len(rn) + 1)})
	if err != nil {
		return nil, fmt.Errorf("riak cluster %v: %w", nodes, err)
	}
	if err := c.Start(); err != nil {
		return nil, fmt.Errorf("start riak cluster %v: %w", nodes, err)
	}
	return &RiakPB{cluster: c, opts: opts}, nil
}

// Get implements Store.
func (s *RiakPB) Get(_ context.Context, name string) (contact.Contact, error) {
	cmd, err := riak.NewFetchValueCommandBuilder().
		WithBucket(s.opts.Bucket).WithKey(name).WithTimeout(s.opts.Timeout).Build()
	if err != nil {
		return contact.Contact{}, fmt.Errorf("riak fetch %q: %w", name, err)
	}
	if err := s.cluster.Execute(cmd); err != nil {
		return contact.Contact{}, fmt.Errorf("riak fetch %q: %w", name, err)
	}
	resp := cmd.(*riak.FetchValueCommand).Response
	if resp == nil || resp.IsNotFound || len(resp.Values) == 0 {
		return contact.Contact{}, ErrNotFound
	}
	obj := newest(resp.Values)
	if obj.IsTombstone {
		return contact.Contact{}, ErrNotFound
	}
	var c contact.Contact
	if err := json.Unmarshal(obj.Value, &c); err != nil {
		return c, fmt.Errorf("decode riak value %q: %w", name, err)
	}
	return c, nil
}

// newest resolves siblings (only possible if the bucket allows them) by
// taking the last written value, which is what "overwrite" means here.
func newest(objs []*riak.Object) *riak.Object {
	best := objs[0]
	for _, o := range objs[1:] {
		if o.LastModified.After(best.LastModified) {
			best = o
		}
	}
	return best
}

// Put implements Store.
func (s *RiakPB) Put(_ context.Context, c contact.Contact) error {
	v, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("encode %q: %w", c.Name, err)
	}
	obj := &riak.Object{ContentType: contentType, Charset: "utf-8", Value: v}
	obj.AddToIndex(indexName, indexTerm(c.Name))
	cmd, err := riak.NewStoreValueCommandBuilder().
		WithBucket(s.opts.Bucket).WithKey(c.Name).WithContent(obj).WithTimeout(s.opts.Timeout).Build()
	if err != nil {
		return fmt.Errorf("riak store %q: %w", c.Name, err)
	}
	if err := s.cluster.Execute(cmd); err != nil {
		return fmt.Errorf("riak store %q: %w", c.Name, err)
	}
	return nil
}

// List implements Store: one paginated 2i range query for the page's keys,
// then the objects fetched in parallel.
func (s *RiakPB) List(ctx context.Context, after string, limit int) ([]contact.Contact, error) {
	if err := checkLimit(limit); err != nil {
		return nil, err
	}
	lo, hi := indexRange(after)
	cmd, err := riak.NewSecondaryIndexQueryCommandBuilder().
		WithBucket(s.opts.Bucket).WithIndexName(indexName).WithRange(lo, hi).
		WithMaxResults(uint32(limit)).WithPaginationSort(true).WithTimeout(s.opts.Timeout).Build()
	if err != nil {
		return nil, fmt.Errorf("riak 2i query after %q: %w", after, err)
	}
	if err := s.cluster.Execute(cmd); err != nil {
		return nil, fmt.Errorf("riak 2i query after %q: %w", after, err)
	}
	var keys []string
	if resp := cmd.(*riak.SecondaryIndexQueryCommand).Response; resp != nil {
		for _, r := range resp.Results {
			keys = append(keys, string(r.ObjectKey))
		}
	}
	return fetchAll(ctx, keys, s.Get)
}

// fetchAll gets every key concurrently, keeping order and skipping keys
// deleted between the index query and the fetch.
func fetchAll(ctx context.Context, keys []string, get func(context.Context, string) (contact.Contact, error)) ([]contact.Contact, error) {
	got := make([]contact.Contact, len(keys))
	errs := make([]error, len(keys))
	var wg sync.WaitGroup
	for i, k := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = get(ctx, k)
		}()
	}
	wg.Wait()
	out := got[:0]
	for i := range keys {
		switch {
		case errs[i] == ErrNotFound:
		case errs[i] != nil:
			return nil, errs[i]
		default:
			out = append(out, got[i])
		}
	}
	return out, nil
}

// Close implements Store.
func (s *RiakPB) Close() error {
	if err := s.cluster.Stop(); err != nil {
		return fmt.Errorf("stop riak cluster: %w", err)
	}
	return nil
}
