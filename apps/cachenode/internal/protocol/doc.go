// Package protocol parses the memcached text protocol (protocol.txt) from a
// bufio.Reader with hard limits on line length and value size, returning
// typed commands and typed errors that map one-to-one to reply lines.
package protocol
