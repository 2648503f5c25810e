package store

import (
	"sort"
	"sync"
)

// fakeRiak is the data model behind the test emulators of Riak's HTTP and
// protocol buffers APIs: objects by bucket and key with one binary index,
// and range queries ordered by term then key, as Riak's 2i returns them.
type fakeRiak struct {
	mu   sync.Mutex
	objs map[[2]string]fakeObject
}

type fakeObject struct {
	value       []byte
	contentType string
	terms       map[string]string // index name -> term
}

func newFakeRiak() *fakeRiak { return &fakeRiak{objs: map[[2]string]fakeObject{}} }

func (f *fakeRiak) put(bucket, key string, o fakeObject) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.objs[[2]string{bucket, key}] = o
}

func (f *fakeRiak) get(bucket, key string) (fakeObject, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o, ok := f.objs[[2]string{bucket, key}]
	return o, ok
}

// rangeQuery returns up to max keys whose term in index lies in [lo, hi].
func (f *fakeRiak) rangeQuery(bucket, index, lo, hi string, max int) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	type hit struct{ term, key string }
	var hits []hit
	for bk, o := range f.objs {
		t, ok := o.terms[index]
		if bk[0] == bucket && ok && t >= lo && t <= hi {
			hits = append(hits, hit{t, bk[1]})
		}
	}
	sort.Slice(hits, func(i, j int) bool {
		if hits[i].term != hits[j].term {
			return hits[i].term < hits[j].term
		}
		return hits[i].key < hits[j].key
	})
	var keys []string
	for _, h := range hits {
		if max > 0 && len(keys) == max {
			break
		}
		keys = append(keys, h.key)
	}
	return keys
}
