package cache

// Stats is a snapshot of the store's state and counters, summed over shards.
// Field names follow memcached's stats.
type Stats struct {
	Items                         int64 // curr_items (expired items count until reaped)
	Bytes                         int64 // sum of ItemSize over stored items
	Capacity                      int64 // limit_maxbytes
	Policy                        Policy
	TotalItems                    int64 // successful stores since start or reset
	Evictions                     int64
	CmdGet                        int64 // keys looked up by get, gets, gat, gats
	CmdSet                        int64 // storage commands received
	CmdTouch                      int64
	CmdFlush                      int64
	GetHits                       int64
	GetMisses                     int64
	GetExpired                    int64
	TouchHits, TouchMisses        int64
	DeleteHits, DeleteMisses      int64
	IncrHits, IncrMisses          int64
	DecrHits, DecrMisses          int64
	CasHits, CasMisses, CasBadval int64
}

// Requests counts every keyed operation: what "requests served" means for
// the pool's manager.
func (st Stats) Requests() int64 {
	return st.CmdGet + st.CmdSet + st.CmdTouch + st.DeleteHits + st.DeleteMisses +
		st.IncrHits + st.IncrMisses + st.DecrHits + st.DecrMisses
}

// HitRate is GetHits/CmdGet, 0 before the first get.
func (st Stats) HitRate() float64 {
	if st.CmdGet == 0 {
		return 0
	}
	return float64(st.GetHits) / float64(st.CmdGet)
}

// MissRate is GetMisses/CmdGet, 0 before the first get.
func (st Stats) MissRate() float64 {
	if st.CmdGet == 0 {
		return 0
	}
	return float64(st.GetMisses) / float64(st.CmdGet)
}

// Stats sums the shards' counters; each shard is read under its own lock,
// so the snapshot is consistent per shard, not across them.
func (s *Store) Stats() Stats {
	st := Stats{
		Bytes:    s.bytes.Load(),
		Capacity: s.capacity.Load(),
		Policy:   s.Policy(),
		CmdFlush: s.flushes.Load(),
	}
	for _, sh := range s.shards {
		sh.mu.Lock()
		c := sh.stats
		st.Items += int64(len(sh.index))
		sh.mu.Unlock()
		st.TotalItems += c.totalItems
		st.Evictions += c.evictions
		st.CmdGet += c.cmdGet
		st.CmdSet += c.cmdSet
		st.CmdTouch += c.cmdTouch
		st.GetHits += c.getHits
		st.GetMisses += c.getMisses
		st.GetExpired += c.getExpired
		st.TouchHits += c.touchHits
		st.TouchMisses += c.touchMisses
		st.DeleteHits += c.deleteHits
		st.DeleteMisses += c.deleteMisses
		st.IncrHits += c.incrHits
		st.IncrMisses += c.incrMisses
		st.DecrHits += c.decrHits
		st.DecrMisses += c.decrMisses
		st.CasHits += c.casHits
		st.CasMisses += c.casMisses
		st.CasBadval += c.casBadval
	}
	return st
}

// ResetStats zeroes the counters (memcached's "stats reset"); items, bytes
// and configuration are not counters and stay.
func (s *Store) ResetStats() {
	s.flushes.Store(0)
	for _, sh := range s.shards {
		sh.mu.Lock()
		sh.stats = counters{}
		sh.mu.Unlock()
	}
}
