package window

import (
	"slices"
	"testing"
)

func TestWindow(t *testing.T) {
	tests := []struct {
		name      string
		totals    []int64
		delta     int64
		perSecond []int64
	}{
		{"empty", nil, 0, []int64{}},
		{"one sample", []int64{5}, 0, []int64{}},
		{"partial", []int64{5, 7, 10}, 5, []int64{2, 3}},
		{"full ring drops the oldest", []int64{0, 1, 3, 6, 10}, 9, []int64{2, 3, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := New(3)
			for _, v := range tt.totals {
				w.Record(v)
			}
			if got := w.Delta(); got != tt.delta {
				t.Errorf("Delta() = %d, want %d", got, tt.delta)
			}
			if got := w.PerSecond(); !slices.Equal(got, tt.perSecond) {
				t.Errorf("PerSecond() = %v, want %v", got, tt.perSecond)
			}
		})
	}
}
