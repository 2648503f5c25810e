package load

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"syscall"
)

// Kinds of failure, as counted in Result.Errors. A reply with a status
// outside 2xx counts as "status NNN".
const (
	KindTimeout  = "timeout"
	KindRefused  = "refused"
	KindReset    = "reset"
	KindMismatch = "body mismatch"
	KindCanceled = "canceled" // the run was stopped (Ctrl-C) mid-request
	KindOther    = "other"
)

// StatusKind is the kind of a reply with a status outside 2xx.
func StatusKind(code int) string { return "status " + strconv.Itoa(code) }

// Kind names the failure err stands for.
func Kind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return KindTimeout
	case errors.Is(err, context.Canceled):
		return KindCanceled
	case errors.Is(err, syscall.ECONNREFUSED):
		return KindRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		// The server hung up mid-request: Go reports that as EOF when the
		// peer closed cleanly, ECONNRESET when it reset.
		return KindReset
	}
	return KindOther
}
