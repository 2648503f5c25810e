package hostnet

import (
	"context"
	"errors"
	"net"
	"os"
	"time"
)

// DialContext connects from inside the namespace at path ("" is this
// machine's): the socket is made on a thread in the namespace and then
// used from anywhere.
func DialContext(ctx context.Context, path, network, addr string) (net.Conn, error) {
	var d net.Dialer
	if path == "" {
		return d.DialContext(ctx, network, addr)
	}
	var c net.Conn
	err := In(path, func() (err error) {
		c, err = d.DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

// Probe connects once to a TCP addr from the namespace at path ("": this
// machine), bounded by timeout, and closes the connection.
func Probe(path, addr string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, err := DialContext(ctx, path, "tcp", addr)
	if err != nil {
		return err
	}
	return c.Close()
}

// Filtered reports whether a probe's error is what a dropped packet
// gives: no answer until the timeout (a refused port answers at once).
func Filtered(err error) bool {
	return err != nil && (errors.Is(err, context.DeadlineExceeded) || os.IsTimeout(err))
}
