package nodegroup

import (
	"errors"
	"strings"
	"testing"
)

type testSlot struct {
	Slot
	Extra string
}

func TestNewList(t *testing.T) {
	ok := func(name string) testSlot {
		return testSlot{Slot: Slot{Name: name, Addr: "127.0.0.1:11211", Admin: "127.0.0.1:8080"}, Extra: "x"}
	}
	noExtra := ok("b")
	noExtra.Extra = ""
	noAdmin := ok("b")
	noAdmin.Admin = ""
	check := func(s testSlot) error {
		if s.Extra == "" {
			return errors.New("test slot " + s.Name + ": extra is required")
		}
		return nil
	}
	for _, tc := range []struct {
		name  string
		slots []testSlot
		want  string // error substring; "" for success
	}{
		{"empty", nil, ""},
		{"two", []testSlot{ok("a"), ok("b")}, ""},
		{"missing admin", []testSlot{ok("a"), noAdmin}, "test slot 1: name, addr and admin are required"},
		{"platform check", []testSlot{ok("a"), noExtra}, "test slot b: extra is required"},
		{"listed twice", []testSlot{ok("a"), ok("a")}, "test slot a listed twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := NewList("test", tc.slots, check)
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("NewList error = %v, want %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if l.MaxSize() != len(tc.slots) || len(l.Slots()) != len(tc.slots) {
				t.Fatalf("MaxSize %d, %d Slots; want %d", l.MaxSize(), len(l.Slots()), len(tc.slots))
			}
			for i, s := range l.Slots() {
				if s != tc.slots[i].Slot {
					t.Errorf("Slots()[%d] = %+v, want %+v", i, s, tc.slots[i].Slot)
				}
			}
		})
	}
}

func TestListLookup(t *testing.T) {
	a := testSlot{Slot: Slot{Name: "a", Addr: "h:1", Admin: "h:2"}, Extra: "ea"}
	l, err := NewList("test", []testSlot{a}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := l.Lookup(Slot{Name: "a"})
	if err != nil || got != a {
		t.Fatalf("Lookup(a) = %+v, %v; want %+v", got, err, a)
	}
	if _, err := l.Lookup(Slot{Name: "z"}); err == nil || err.Error() != `test: no slot "z"` {
		t.Fatalf("Lookup(z) error = %v, want test: no slot \"z\"", err)
	}
}
