// Package appkit is the small runtime the cloudlabs apps share: flags with
// environment equivalents, structured logs, an HTTP server with production
// timeouts and graceful shutdown, JSON replies and Prometheus instrumentation.
//
// It imports neither Pulumi nor a cloud SDK, so the apps build in seconds.
package appkit
