package nodegroup

import "fmt"

// Base returns s itself. Platform slot types embed Slot, so they get Base
// too: it is how List reaches the part every platform shares.
func (s Slot) Base() Slot { return s }

// List is a platform's checked slot list, in ring order: the part of a
// NodeGroup every platform shares (MaxSize, Slots, finding a slot's
// platform record). A platform's Group embeds it. It is read-only after
// NewList, so safe for concurrent use.
type List[T interface{ Base() Slot }] struct {
	platform string
	all      []T
	pub      []Slot
}

// NewList checks slots — name, addr and admin set, no name listed twice,
// and whatever check adds for the platform — and returns their list.
// platform names the platform in errors ("ec2 slot 2: ...").
func NewList[T interface{ Base() Slot }](platform string, slots []T, check func(T) error) (*List[T], error) {
	l := &List[T]{platform: platform}
	seen := map[string]bool{}
	for i, t := range slots {
		s := t.Base()
		if s.Name == "" || s.Addr == "" || s.Admin == "" {
			return nil, fmt.Errorf("%s slot %d: name, addr and admin are required", platform, i)
		}
		if check != nil {
			if err := check(t); err != nil {
				return nil, err
			}
		}
		if seen[s.Name] {
			return nil, fmt.Errorf("%s slot %s listed twice", platform, s.Name)
		}
		seen[s.Name] = true
		l.all = append(l.all, t)
		l.pub = append(l.pub, s)
	}
	return l, nil
}

// MaxSize is how many slots there are.
func (l *List[T]) MaxSize() int { return len(l.all) }

// Slots lists the slots' common part in ring order; the caller must not
// modify it.
func (l *List[T]) Slots() []Slot { return l.pub }

// Lookup returns the platform record of the slot named s.Name.
func (l *List[T]) Lookup(s Slot) (T, error) {
	for _, t := range l.all {
		if t.Base().Name == s.Name {
			return t, nil
		}
	}
	var zero T
	return zero, fmt.Errorf("%s: no slot %q", l.platform, s.Name)
}
