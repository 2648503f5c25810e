package protocol

import (
	"errors"
	"fmt"
)

// ErrUnknownCommand is an unknown command or a known one with the wrong
// number of arguments; memcached answers both with "ERROR".
var ErrUnknownCommand = errors.New("unknown command")

// ErrLineTooLong is a command line over the limit; the connection must be
// closed because the rest of the line cannot be resynchronised cheaply.
var ErrLineTooLong = errors.New("line too long")

// ClientError is a malformed request; the reply is "CLIENT_ERROR <Msg>"
// unless the request asked for noreply. The connection stays usable.
type ClientError struct {
	Msg     string
	NoReply bool
}

func (e *ClientError) Error() string { return "client error: " + e.Msg }

// TooLargeError is a storage command whose value exceeds the item size
// limit; its data block has been swallowed so the connection stays usable.
type TooLargeError struct {
	Op      Op
	Key     []byte
	Size    int
	NoReply bool
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("object of %d bytes too large for cache", e.Size)
}

// BinaryProtocolError is a binary protocol request (first byte 0x80),
// which cachenode does not speak. The connection must be closed after the
// reply: the request's length is not trusted, so the stream cannot be
// resynchronised. Opcode and Opaque echo the request header so a binary
// client can match the error response to its request.
type BinaryProtocolError struct {
	Opcode byte
	Opaque [4]byte
}

func (e *BinaryProtocolError) Error() string {
	return "binary protocol not supported: use the text protocol"
}

// Messages memcached uses, reproduced byte for byte.
const (
	msgBadFormat   = "bad command line format"
	msgBadChunk    = "bad data chunk"
	msgBadExptime  = "invalid exptime argument"
	msgBadDelta    = "invalid numeric delta argument"
	msgDeleteUsage = "bad command line format.  Usage: delete <key> [noreply]"
)
