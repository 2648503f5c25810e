package nodegroup

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
)

func TestVersionAnswersFromMemcached(t *testing.T) {
	mc := testkit.Memcached(t)
	v, err := Version(context.Background(), mc.Addr)
	if err != nil {
		t.Fatalf("Version(%s) = %v", mc.Addr, err)
	}
	if v == "" || strings.ContainsAny(v, "\r\n ") {
		t.Errorf("Version = %q, want a bare version string", v)
	}
}

// A port that accepts connections but does not speak memcached is not ready:
// readiness is the protocol answering, not the socket.
func TestVersionRefusesWhatIsNotMemcached(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 64)
			_, _ = c.Read(buf)
			_, _ = c.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
			c.Close()
		}
	}()
	_, err = Version(context.Background(), ln.Addr().String())
	if err == nil || !strings.Contains(err.Error(), `want "VERSION <v>"`) {
		t.Errorf("Version = %v, want an error quoting the bad answer", err)
	}
	closed := ln.Addr().String()
	ln.Close()
	if _, err := Version(context.Background(), closed); err == nil {
		t.Errorf("Version on a closed port = nil, want an error")
	}
}
