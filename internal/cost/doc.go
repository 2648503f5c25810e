// Package cost estimates what a cloud stack costs a day and a month from the
// resources its program declares offline, priced from a dated table.
//
// Picture: stack file → program against recording mocks (no CLI, no cloud)
// → Usage (instances by type, disk GB by type, public IPv4 addresses) →
// Price with prices.json (per cloud and region) → Report (lines + totals).
package cost
