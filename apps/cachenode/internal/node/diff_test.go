package node

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/cloudlabs/cloudlabs/apps/cachenode/internal/cache"
	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
)

var k250, k251 = strings.Repeat("k", 250), strings.Repeat("k", 251)

// conformance is a set of scripted raw sessions whose replies must match
// the real memcached byte for byte. Each runs against fresh servers, so
// CAS uniques are compared too.
var conformance = []struct{ name, script string }{
	{"set get gets multi", "set a 5 0 3\r\nabc\r\nset b 4294967295 0 0\r\n\r\nget a b missing\r\ngets a b\r\n"},
	{"add replace", "add a 0 0 1\r\n1\r\nadd a 0 0 1\r\n2\r\nreplace z 0 0 1\r\n3\r\nreplace a 7 0 2\r\n44\r\nget a z\r\n"},
	{"append prepend keep flags", "append a 0 0 1\r\nx\r\nset a 3 0 1\r\nm\r\nappend a 9 0 2\r\nzz\r\nprepend a 9 0 2\r\naa\r\ngets a\r\n"},
	{"cas", "set a 0 0 1\r\nx\r\ngets a\r\ncas a 0 0 1 999\r\ny\r\ncas a 0 0 1 1\r\nz\r\ncas nope 0 0 1 1\r\ny\r\ngets a\r\ncas a 0 0 1\r\ny\r\n"},
	{"cas noreply", "set a 0 0 1\r\nx\r\ncas a 0 0 1 1 noreply\r\nq\r\ncas a 0 0 1 55 noreply\r\nr\r\ngets a\r\n"},
	{"incr decr", "set n 0 0 2\r\n10\r\nincr n 5\r\ndecr n 6\r\nget n\r\ndecr n 100\r\nget n\r\nincr nope 1\r\ndecr nope 1\r\n"},
	{"incr wraps at 2^64", "set m 0 0 20\r\n18446744073709551615\r\nincr m 2\r\nget m\r\nincr m 18446744073709551615\r\n"},
	{"incr grows the value", "set g 3 0 1\r\n9\r\nincr g 1\r\ngets g\r\nincr g 18446744073709551600\r\nget g\r\n"},
	{"incr parsing", "set s 0 0 1\r\nx\r\nincr s 1\r\nset e 0 0 0\r\n\r\nincr e 1\r\nset w 0 0 4\r\n 12 \r\nincr w 1\r\nset p 0 0 2\r\n+5\r\nincr p 1\r\nincr p +3\r\nincr p abc\r\nincr p -1\r\nincr p 18446744073709551616\r\nset q 0 0 3\r\n-12\r\nincr q 1\r\n"},
	{"numbers with tabs", "set n 0 0 1\r\n1\r\nincr n 5\t\r\nincr n \t2\r\ntouch n \t10\r\nset t 0\t 0 1\r\nx\r\nget n t\r\n"},
	{"incr noreply", "set n 0 0 1\r\n1\r\nincr n 5 noreply\r\ndecr n 2 noreply\r\nincr nope 1 noreply\r\nget n\r\n"},
	{"delete forms", "set a 0 0 1\r\nx\r\ndelete a\r\ndelete a\r\nset a 0 0 1\r\nx\r\ndelete a 0\r\nset a 0 0 1\r\nx\r\ndelete a noreply\r\nget a\r\ndelete a 5\r\ndelete a 0 noreply\r\ndelete a noreply x\r\ndelete\r\n"},
	{"touch gat gats", "set a 0 0 1\r\nx\r\ntouch a 100\r\ntouch nope 100\r\ntouch a abc\r\ntouch a 10 noreply\r\ngat 100 a nope\r\ngats 0 a\r\ngat a\r\ngat 100\r\ntouch a\r\n"},
	{"expired at once", "set e 0 -1 1\r\nx\r\nget e\r\nset f 0 1000000000 1\r\nx\r\nget f\r\nset g 0 0 1\r\nx\r\ntouch g -1\r\nget g\r\ngat -1 nope\r\n"},
	{"noreply storage", "set a 0 0 1 noreply\r\nx\r\nadd a 0 0 1 noreply\r\ny\r\nreplace a 0 0 1 noreply\r\nz\r\nappend a 0 0 1 noreply\r\n1\r\nprepend a 0 0 1 noreply\r\n0\r\nget a\r\n"},
	{"unknown commands", "bogus\r\n\r\nGET a\r\nget\ta\r\nget\r\nincr a\r\ntouch a\r\nverbosity\r\n"},
	{"set argument counts", "set a 0 0\r\nget a\r\nset a 0 0 1 noreply extra\r\nx\r\nset a 0 0 1 notnoreply\r\nx\r\nget a\r\n"},
	{"set bad numbers", "set a abc 0 1\r\nx\r\nset a -1 0 1\r\nx\r\nset a 0 abc 1\r\nx\r\nset a 0 0 -1\r\nset a 0 0 abc\r\nget a\r\n"},
	{"bad data chunk keeps old value", "set q 0 0 1\r\nx\r\nset q 0 0 1\r\nyy\r\nget q\r\nset q 0 0 1 noreply\r\nab\r\nget q\r\n"},
	{"key lengths", "set " + k250 + " 0 0 1\r\nx\r\nget " + k250 + "\r\nget " + k251 + "\r\nset " + k251 + " 0 0 1\r\nx\r\n"},
	{"too large swallows and drops old", "set q 0 0 1\r\nx\r\nset q 0 0 1048577\r\n" + strings.Repeat("v", 1048577) + "\r\nget q\r\nset r 0 0 1\r\nx\r\nappend r 0 0 1048577\r\n" + strings.Repeat("v", 1048577) + "\r\nget r\r\nset s 0 0 1048577 noreply\r\n" + strings.Repeat("v", 1048577) + "\r\nget s\r\n"},
	{"large value", "set big 0 0 500000\r\n" + strings.Repeat("0123456789", 50000) + "\r\nget big\r\n"},
	{"flush_all forms", "set a 0 0 1\r\nx\r\nflush_all\r\nget a\r\nset a 0 0 1\r\nx\r\nflush_all 0\r\nflush_all noreply\r\nflush_all abc\r\nget a\r\n"},
	{"verbosity", "verbosity 1\r\nverbosity 1 noreply\r\nverbosity a\r\n"},
	{"bare newlines and spaces", "set a 0 0 1\nx\r\nget a\nset   b  0 0 1\r\ny\r\n  get a   b  \r\nset c 0 0 1\r\n\n\r\nget c\r\n"},
	{"stats reset and unknown", "stats reset\r\nstats nonsense\r\n"},
	{"values across buffer refills", refills()},
	{"pipelined burst", strings.Repeat("set p 0 0 2\r\nab\r\nget p\r\nincr p 1\r\ndelete p\r\n", 200)},
	{"quit closes", "set a 0 0 1\r\nx\r\nquit\r\nget a\r\n"},
}

var versionLine = regexp.MustCompile(`VERSION [^\r]*\r\n`)

// TestConformance is the differential check: each script goes to a fresh
// real memcached and a fresh cachenode, and the replies must be identical.
// Both network layers are checked.
func TestConformance(t *testing.T) {
	for _, tc := range conformance {
		t.Run(tc.name, func(t *testing.T) {
			mc := testkit.Memcached(t)
			want := session(t, mc.Addr, []byte(tc.script))
			want = versionLine.ReplaceAll(want, []byte("VERSION x\r\n"))
			for _, layer := range layers {
				addr, _ := startServerLayer(t, cache.Config{}, layer.goroutines)
				got := session(t, addr, []byte(tc.script))
				got = versionLine.ReplaceAll(got, []byte("VERSION x\r\n"))
				if !bytes.Equal(got, want) {
					t.Errorf("%s layer: replies differ\nscript:    %q\ncachenode: %q\nmemcached: %q", layer.name, truncate([]byte(tc.script)), truncate(got), truncate(want))
				}
			}
		})
	}
}

// refills pipelines values that straddle the server's read buffer, so keys
// must survive the buffer being refilled while the value is read.
func refills() string {
	var b strings.Builder
	for i := range 20 {
		fmt.Fprintf(&b, "set key-%d %d 0 3000\r\n%s\r\n", i, i, strings.Repeat(string(rune('a'+i)), 3000))
	}
	b.WriteString("get")
	for i := range 20 {
		fmt.Fprintf(&b, " key-%d", i)
	}
	b.WriteString("\r\n")
	return b.String()
}
