package autoscale

// PolicyJSON is a Policy on the wire, as the manager's GET and PUT
// /api/policy carry it (the cooldown as a duration string): one type for
// the manager and its clients (labctl pool-report).
type PolicyJSON struct {
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
