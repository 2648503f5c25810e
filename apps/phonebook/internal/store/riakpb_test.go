package store

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"

	rpbriak "github.com/basho/riak-go-client/rpb/riak"
	rpbkv "github.com/basho/riak-go-client/rpb/riak_kv"
	"github.com/golang/protobuf/proto"

	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
)

// Riak protocol buffers message codes the emulator speaks.
const (
	codeErrorResp = 0
	codePingReq   = 1
	codePingResp  = 2
	codeGetReq    = 9
	codeGetResp   = 10
	codePutReq    = 11
	codePutResp   = 12
	codeIndexReq  = 25
	codeIndexResp = 26
)

// riakPBEmulator speaks Riak's framing (4-byte big-endian length, 1-byte
// message code, protobuf body) for ping, get, put and 2i range queries,
// with the client's own generated message types.
type riakPBEmulator struct {
	data     *fakeRiak
	ln       net.Listener
	requests atomic.Int64
}

func startRiakPBEmulator(t *testing.T, data *fakeRiak) *riakPBEmulator {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := &riakPBEmulator{data: data, ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go e.serve(c)
		}
	}()
	return e
}

func (e *riakPBEmulator) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	for {
		var hdr [4]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return
		}
		msg := make([]byte, binary.BigEndian.Uint32(hdr[:]))
		if len(msg) == 0 {
			return
		}
		if _, err := io.ReadFull(r, msg); err != nil {
			return
		}
		e.requests.Add(1)
		code, body := e.handle(msg[0], msg[1:])
		out := make([]byte, 5, 5+len(body))
		binary.BigEndian.PutUint32(out, uint32(1+len(body)))
		out[4] = code
		if _, err := c.Write(append(out, body...)); err != nil {
			return
		}
	}
}

// handle is the emulator's logic: one request in, one reply out.
func (e *riakPBEmulator) handle(code byte, body []byte) (byte, []byte) {
	fail := func(err error) (byte, []byte) {
		b, _ := proto.Marshal(&rpbriak.RpbErrorResp{Errmsg: []byte(err.Error()), Errcode: proto.Uint32(1)})
		return codeErrorResp, b
	}
	reply := func(code byte, m proto.Message) (byte, []byte) {
		b, err := proto.Marshal(m)
		if err != nil {
			return fail(err)
		}
		return code, b
	}
	switch code {
	case codePingReq:
		return codePingResp, nil
	case codeGetReq:
		var req rpbkv.RpbGetReq
		if err := proto.Unmarshal(body, &req); err != nil {
			return fail(err)
		}
		o, ok := e.data.get(string(req.Bucket), string(req.Key))
		if !ok {
			return reply(codeGetResp, &rpbkv.RpbGetResp{})
		}
		return reply(codeGetResp, &rpbkv.RpbGetResp{
			Content: []*rpbkv.RpbContent{{Value: o.value, ContentType: []byte(o.contentType)}},
			Vclock:  []byte("vclock"),
		})
	case codePutReq:
		var req rpbkv.RpbPutReq
		if err := proto.Unmarshal(body, &req); err != nil {
			return fail(err)
		}
		terms := map[string]string{}
		for _, p := range req.Content.Indexes {
			terms[string(p.Key)] = string(p.Value)
		}
		e.data.put(string(req.Bucket), string(req.Key), fakeObject{
			value: req.Content.Value, contentType: string(req.Content.ContentType), terms: terms,
		})
		return reply(codePutResp, &rpbkv.RpbPutResp{})
	case codeIndexReq:
		var req rpbkv.RpbIndexReq
		if err := proto.Unmarshal(body, &req); err != nil {
			return fail(err)
		}
		if req.GetQtype() != rpbkv.RpbIndexReq_range {
			return fail(fmt.Errorf("emulator only does range queries"))
		}
		keys := e.data.rangeQuery(string(req.Bucket), string(req.Index), string(req.RangeMin), string(req.RangeMax), int(req.GetMaxResults()))
		resp := &rpbkv.RpbIndexResp{}
		for _, k := range keys {
			resp.Keys = append(resp.Keys, []byte(k))
		}
		return reply(codeIndexResp, resp)
	default:
		return fail(fmt.Errorf("emulator does not know message code %d", code))
	}
}

func TestRiakPB(t *testing.T) {
	t.Run("emulated two-node cluster", func(t *testing.T) {
		data := newFakeRiak()
		a, b := startRiakPBEmulator(t, data), startRiakPBEmulator(t, data)
		s, err := Open("riak-pbc://"+a.ln.Addr().String()+","+b.ln.Addr().String(), Options{Bucket: uniqueBucket(t)})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		testContract(t, s)
		for i, e := range []*riakPBEmulator{a, b} {
			if e.requests.Load() == 0 {
				t.Errorf("node %d got no requests: want round-robin over both", i)
			}
		}
	})
	t.Run("first node down", func(t *testing.T) {
		live := startRiakPBEmulator(t, newFakeRiak())
		dead := fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(t))
		s, err := Open("riak-pbc://"+dead+","+live.ln.Addr().String(), Options{Bucket: uniqueBucket(t)})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		testContract(t, s)
	})
	t.Run("real Riak", func(t *testing.T) {
		nodes := realRiak(t, "CLOUDLABS_RIAK_PBC")
		s, err := Open("riak-pbc://"+strings.TrimSpace(nodes), Options{Bucket: uniqueBucket(t)})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		testContract(t, s)
	})
}
