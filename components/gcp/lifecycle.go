package gcp

import "github.com/pulumi/pulumi/sdk/v3/go/pulumi"

// lifecycle is how an instance reacts to a later `up`: which changes
// replace it and which it ignores (components/offline records the options,
// so mock tests check them on the registered instances).
type lifecycle struct {
	// ReplaceOnChanges: GCE would update metadata in place and cloud-init
	// would not run again, leaving the old binary running under new user
	// data. "metadata" as a whole, because the provider may report the
	// change at the map's level; its other keys are constants.
	ReplaceOnChanges []string
	// IgnoreChanges: a stateful machine keeps the user data and image it
	// was created with, so a later up never replaces it (a changed image
	// would force a replacement, a changed user data would do nothing
	// useful).
	IgnoreChanges []string
	// DeleteBeforeReplace: a static address is held by one instance at a
	// time, so the old instance must release it before the new one is
	// created (a short outage, where create-first would fail outright).
	DeleteBeforeReplace bool
}

// lifecycleOf decides an instance's lifecycle.
func lifecycleOf(stateful, public bool) lifecycle {
	if stateful {
		return lifecycle{
			IgnoreChanges:       []string{"metadata", "bootDisk.initializeParams.image"},
			DeleteBeforeReplace: public,
		}
	}
	return lifecycle{ReplaceOnChanges: []string{"metadata"}, DeleteBeforeReplace: public}
}

// options turns the decision into resource options.
func (l lifecycle) options() []pulumi.ResourceOption {
	var o []pulumi.ResourceOption
	if len(l.ReplaceOnChanges) > 0 {
		o = append(o, pulumi.ReplaceOnChanges(l.ReplaceOnChanges))
	}
	if len(l.IgnoreChanges) > 0 {
		o = append(o, pulumi.IgnoreChanges(l.IgnoreChanges))
	}
	if l.DeleteBeforeReplace {
		o = append(o, pulumi.DeleteBeforeReplace(true))
	}
	return o
}
