package store

import (
	"encoding/hex"
)

// Both Riak backends keep a secondary index so /list pages through names
// with a 2i range query instead of listing every key in the cluster.
//
// The term is the name hex-encoded: hex keeps byte order (so the range is
// ordered by name), and it survives the HTTP API, where a comma in an
// x-riak-index header would split one term into two and non-ASCII header
// values are not portable.
const indexName = "name_bin"

func indexTerm(name string) string { return hex.EncodeToString([]byte(name)) }

// indexRange returns the inclusive 2i range holding exactly the names that
// sort after `after`: hex(after)+"0" is the smallest term above hex(after),
// and "g" is above every hex string.
func indexRange(after string) (lo, hi string) {
	if after == "" {
		return "0", "g"
	}
	return indexTerm(after) + "0", "g"
}

// contentType is what the Riak backends store values as.
const contentType = "application/json"
