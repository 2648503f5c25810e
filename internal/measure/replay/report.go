package replay

import (
	"time"

	"github.com/cloudlabs/cloudlabs/internal/measure/load"
)

// Report is what `labctl replay --json` writes.
type Report struct {
	Kind        string      `json:"kind"` // always "replay"
	Target      string      `json:"target"`
	Workload    string      `json:"workload"`
	Concurrency int         `json:"concurrency"`
	Adds        int         `json:"adds"`
	Gets        int         `json:"gets"`
	Started     time.Time   `json:"started"`
	Result      load.Result `json:"result"`
}
