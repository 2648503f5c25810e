package gcp_test

import (
	"strings"
	"testing"
)

// TestLifecycle checks the options the lab's instances are registered
// with, as the engine would receive them, against the README: a stateful
// machine (db-1) ignores changes to its image and user data and is never
// replaced by them; a stateless one (node-1) ignores neither and is
// replaced, create-first, when its user data changes; a Public stateless
// one (web) is replaced delete-first, releasing its static address. Where
// the image and user data are in an instance's inputs is found from the
// values (the image the test pins, the #cloud-config).
func TestLifecycle(t *testing.T) {
	const pinned = "projects/cloudlabs-test/global/images/pinned-ubuntu-2404"
	s := settings()
	s.Image = pinned
	m := run(t, s).mocks
	for _, tc := range []struct {
		machine             string
		stateful            bool
		deleteBeforeReplace bool
	}{
		{"db-1", true, false},
		{"node-1", false, false},
		{"web", false, true},
	} {
		t.Run(tc.machine, func(t *testing.T) {
			r := named(t, m, tInstance, tc.machine)
			img := r.Paths(func(s string) bool { return s == pinned })
			ud := r.Paths(func(s string) bool { return strings.HasPrefix(s, "#cloud-config") })
			if len(img) != 1 || len(ud) != 1 {
				t.Fatalf("image at %v, user data at %v: want one of each", img, ud)
			}
			o := r.Options
			for _, p := range []string{img[0], ud[0]} {
				if o.Ignores(p) != tc.stateful {
					t.Errorf("changes to %s ignored: %t, want %t (ignoreChanges %v)", p, o.Ignores(p), tc.stateful, o.IgnoreChanges)
				}
			}
			if got := o.Replaces(ud[0]); got == tc.stateful {
				t.Errorf("a change to %s replaces it: %t, want %t (replaceOnChanges %v)", ud[0], got, !tc.stateful, o.ReplaceOnChanges)
			}
			if o.DeleteBeforeReplace != tc.deleteBeforeReplace {
				t.Errorf("deleteBeforeReplace: got %t, want %t", o.DeleteBeforeReplace, tc.deleteBeforeReplace)
			}
			if o.Protect || o.RetainOnDelete {
				t.Errorf("protect %t, retainOnDelete %t: destroy must remove the lab's machines", o.Protect, o.RetainOnDelete)
			}
		})
	}
}
