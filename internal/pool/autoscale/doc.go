// Package autoscale decides how many nodes the memcache pool should have and
// runs that decision every check interval.
//
// As in Kubernetes' horizontal pod autoscaler, the arithmetic is a pure
// function of plain values, [Decide] (policy + observation in, desired size
// and the rule that chose it out), table-tested apart from the thin [Loop]
// that reads the policy, the metric store and the pool each tick and applies
// the result through the [Pool] seam (one implementation per platform, like
// cluster-autoscaler's NodeGroup). The package imports no cloud SDK and no
// Pulumi.
//
// With every extra rule off ([Policy.Plain]) Decide is the lab's rule: above
// the max miss rate grow to ceil(n × expand), below the min shrink to
// floor(n × shrink), clamped to 1..8. The extra rules exist because a resize
// remaps half or more of the keys, so the miss rate jumps right after it and
// a naive scaler feeds itself; README.md explains each.
package autoscale
