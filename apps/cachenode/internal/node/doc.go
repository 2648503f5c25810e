// Package node is cachenode's memcached text protocol server: Handler
// turns parsed commands into replies against a cache.Store, and Server runs
// the per-connection read-execute-write loop with limits and shutdown.
package node
