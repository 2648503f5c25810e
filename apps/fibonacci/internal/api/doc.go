// Package api is the fibonacci server's HTTP interface: the lab's
// /fibonacci and /status endpoints, strict request parsing and cached replies.
package api
