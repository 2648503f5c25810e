// Package poolapi is the pool manager's HTTP API on the wire: one set of
// types for the manager and its clients (labctl pool-report, verify), so
// the two cannot drift apart.
package poolapi

// Pool is GET /api/pool: the membership in ring order and its epoch, the
// mode, and the bound and the nodes' configuration.
type Pool struct {
	Epoch         int64    `json:"epoch"`
	Mode          string   `json:"mode"`
	Nodes         []string `json:"nodes"`
	MaxNodes      int      `json:"maxNodes"`
	CapacityBytes int64    `json:"capacityBytes"`
	Policy        string   `json:"policy"`
}

// Policy is the autoscaler's policy (autoscale.Policy) as GET and PUT
// /api/policy carry it, the cooldown as a duration string.
type Policy struct {
	Mode             string  `json:"mode"`
	MaxMissRate      float64 `json:"max_miss_rate"`
	MinMissRate      float64 `json:"min_miss_rate"`
	ExpandRatio      float64 `json:"expand_ratio"`
	ShrinkRatio      float64 `json:"shrink_ratio"`
	MinRequests      float64 `json:"min_requests"`
	Cooldown         string  `json:"cooldown"`
	SettleTolerance  float64 `json:"settle_tolerance"`
	RequireEvictions bool    `json:"require_evictions"`
	RequireFit       bool    `json:"require_fit"`
	FullFraction     float64 `json:"full_fraction"`
	MinNodes         int     `json:"min_nodes"`
	MaxNodes         int     `json:"max_nodes"`
}
