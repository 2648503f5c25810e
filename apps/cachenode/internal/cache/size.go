package cache

import (
	"fmt"
	"strconv"
	"strings"
)

// ItemOverhead is the fixed number of bytes charged per item on top of its
// key and value: the slot (about 80 bytes), its index map entry and the
// allocation headers of the key and value. Charging it keeps the process's
// real memory close to the configured capacity even for tiny items.
const ItemOverhead = 96

// ItemSize is what an item with this key and value costs against capacity.
func ItemSize(keyLen, valueLen int) int64 {
	return int64(keyLen) + int64(valueLen) + ItemOverhead
}

var units = []struct {
	suffix string
	mult   int64
}{
	{"GB", 1 << 30}, {"G", 1 << 30},
	{"MB", 1 << 20}, {"M", 1 << 20},
	{"KB", 1 << 10}, {"K", 1 << 10},
	{"B", 1},
}

// ParseSize reads a byte count such as "64MB", "512KB", "1GB", "1g" or
// "4096" (binary units: 1KB is 1024 bytes).
func ParseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("size %q: want a non-negative number with an optional unit B, KB, MB or GB", s)
	}
	return n * mult, nil
}

// FormatSize renders n with the largest unit that divides it exactly.
func FormatSize(n int64) string {
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}} {
		if n != 0 && n%u.mult == 0 {
			return strconv.FormatInt(n/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10) + "B"
}
