// Package load is cloudlabs' closed-loop HTTP load generator: C workers
// each send one request, read the whole reply, and send the next, until N
// requests have been sent; latencies go to an HDR histogram.
//
// What a latency is: the time from just before the request is handed to the
// HTTP transport (so it includes waiting for a free connection, dialing a new
// one when needed, writing the request) to just after the last byte of the
// response body has been read. Being closed loop, it is the latency a user
// who waits for each reply sees; it does not include time a request would
// have spent queued had it been sent on a fixed schedule (no coordinated
// omission correction: there is no schedule to correct against).
//
// Only complete HTTP responses (any status) are recorded in the histogram;
// requests that end in a transport error (timeout, refused, reset) are
// counted by kind instead, and never stop the run. Throughput (rps) is
// complete responses divided by the wall time of the whole run.
package load
