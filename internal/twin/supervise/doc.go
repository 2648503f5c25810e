// Package supervise runs services as detached processes that outlive the
// program that started them, and finds, signals and stops them again later
// from a pid file that records the process's start time, so a recycled pid
// is never mistaken for the service.
package supervise
