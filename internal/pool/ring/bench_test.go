package ring

import (
	"strconv"
	"testing"
)

// go test -run '^$' -bench Node ./internal/pool/ring
func BenchmarkNode(b *testing.B) {
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = "gallery/images/" + strconv.Itoa(i) + ".jpg"
	}
	for _, scheme := range Schemes() {
		for _, n := range []int{2, 8} {
			r, err := New(scheme, nodeNames(n))
			if err != nil {
				b.Fatal(err)
			}
			b.Run(scheme+"/nodes="+strconv.Itoa(n), func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					r.Node(keys[i%len(keys)])
					i++
				}
			})
		}
	}
}

// The key's MD5 is most of Node's cost; this is the floor every scheme pays.
func BenchmarkMD5(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		md5String("gallery/images/123.jpg")
	}
}
