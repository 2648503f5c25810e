package fib

import (
	"math/big"
	"sync"
	"testing"
)

// doubling computes fib(n) by fast doubling, independently of Table's
// iterative sums: F(2k) = F(k)(2F(k+1) - F(k)), F(2k+1) = F(k)^2 + F(k+1)^2.
func doubling(n int) *big.Int {
	a, b := big.NewInt(0), big.NewInt(1) // F(k), F(k+1) with k = 0
	for bit := 62; bit >= 0; bit-- {
		// c = F(2k), d = F(2k+1)
		c := new(big.Int).Lsh(b, 1)
		c.Sub(c, a).Mul(c, a)
		d := new(big.Int).Mul(a, a)
		d.Add(d, new(big.Int).Mul(b, b))
		if n>>uint(bit)&1 == 1 {
			a, b = d, c.Add(c, d)
		} else {
			a, b = c, d
		}
	}
	return a
}

func TestValueExact(t *testing.T) {
	tab, err := NewTable(1000)
	if err != nil {
		t.Fatal(err)
	}
	// Ask in descending order too, so growth and lookup both get checked.
	for _, n := range []int{1000, 0, 1, 2, 500} {
		if got, want := tab.Value(n), doubling(n); got.Cmp(want) != 0 {
			t.Fatalf("fib(%d) = %s, want %s", n, got, want)
		}
	}
	for n := 0; n <= 1000; n++ {
		if got, want := tab.Value(n), doubling(n); got.Cmp(want) != 0 {
			t.Fatalf("fib(%d) = %s, want %s", n, got, want)
		}
	}
	if got := len(tab.Value(1000).String()); got != 209 {
		t.Errorf("fib(1000) has %d digits, want 209", got)
	}
}

func TestKnownValues(t *testing.T) {
	tests := []struct {
		n    int
		want string
	}{
		{0, "0"}, {1, "1"}, {2, "1"}, {20, "6765"}, {93, "12200160415121876738"},
		{100, "354224848179261915075"},
	}
	tab, _ := NewTable(100)
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			if got := tab.Value(tc.n).String(); got != tc.want {
				t.Errorf("fib(%d) = %s, want %s", tc.n, got, tc.want)
			}
		})
	}
}

func TestLen(t *testing.T) {
	tab, _ := NewTable(50)
	steps := []struct {
		ask, want int
	}{{0, 2}, {1, 2}, {2, 3}, {20, 21}, {5, 21}, {50, 51}}
	if got := tab.Len(); got != 2 {
		t.Fatalf("new table Len() = %d, want 2", got)
	}
	for _, s := range steps {
		tab.Value(s.ask)
		if got := tab.Len(); got != s.want {
			t.Errorf("after fib(%d): Len() = %d, want %d", s.ask, got, s.want)
		}
	}
}

func TestNewTableRejects(t *testing.T) {
	for _, max := range []int{-1, 0} {
		if _, err := NewTable(max); err == nil {
			t.Errorf("NewTable(%d) succeeded, want an error", max)
		}
	}
}

func TestConcurrent(t *testing.T) {
	tab, _ := NewTable(2000)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for n := g; n <= 2000; n += 7 {
				if got, want := tab.Value(n), doubling(n); got.Cmp(want) != 0 {
					t.Errorf("fib(%d) = %s, want %s", n, got, want)
					return
				}
				_ = tab.Len()
			}
		}(g)
	}
	wg.Wait()
}
