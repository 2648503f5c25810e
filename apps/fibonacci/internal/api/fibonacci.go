package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/cloudlabs/cloudlabs/internal/appkit"
)

// serveFibonacci answers GET or POST /fibonacci with {"fibonacci_number": N}
// in the body, or GET /fibonacci?n=N. Like the original, which counted a call
// before reading its body, every GET and POST counts as a request, good or
// bad; other methods are refused before counting (Flask did the same).
func (s *Server) serveFibonacci(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		allow(w, r, http.MethodPost, http.MethodGet)
		return
	}
	s.requests.Add(1)
	if s.latency == nil {
		s.answer(w, r)
		return
	}
	start := time.Now()
	s.answer(w, r)
	s.latency.Observe(time.Since(start).Seconds())
}

func (s *Server) answer(w http.ResponseWriter, r *http.Request) {
	n, err := s.requested(w, r)
	if err != nil {
		s.rejected.Add(1)
		var re *RequestError
		if !errors.As(err, &re) {
			re = &RequestError{Status: http.StatusBadRequest, Msg: err.Error()}
		}
		appkit.WriteError(w, re.Status, re.Msg)
		return
	}
	rep := s.reply(n)
	h := w.Header()
	h["Content-Type"] = jsonType
	h["Content-Length"] = rep.length
	_, _ = w.Write(rep.body)
}

// requested reads n from the query (GET only) or the body.
func (s *Server) requested(w http.ResponseWriter, r *http.Request) (int, error) {
	buf := bodyPool.Get().(*[]byte)
	defer bodyPool.Put(buf)
	body, err := readBody(w, r, *buf)
	if cap(body) <= 4<<10 { // keep a grown buffer, but not a huge one
		*buf = body[:0]
	}
	if err != nil {
		return 0, err
	}
	if r.URL.RawQuery != "" {
		if r.Method != http.MethodGet {
			return 0, badRequest("the n query parameter is for GET; with %s %s", r.Method, usage(s.maxN))
		}
		if len(body) != 0 {
			return 0, badRequest("give n in the query or the body, not both")
		}
		return s.fromQuery(r.URL.RawQuery)
	}
	if len(body) == 0 {
		return 0, noInput(r.Method, s.maxN)
	}
	return Parse(body, s.maxN)
}

func (s *Server) fromQuery(raw string) (int, error) {
	q, err := url.ParseQuery(raw)
	if err != nil {
		return 0, badRequest("invalid query string: %v", err)
	}
	for k := range q {
		if k != "n" {
			return 0, badRequest("unknown query parameter %q: the only one is n, as in /fibonacci?n=20", quoteLiteral(k))
		}
	}
	if len(q["n"]) != 1 {
		return 0, badRequest("give n once, as in /fibonacci?n=20")
	}
	return parseInteger("n", q.Get("n"), s.maxN)
}

var errTooLarge = &RequestError{Status: http.StatusRequestEntityTooLarge,
	Msg: fmt.Sprintf(`request body larger than %d bytes: send {"fibonacci_number": N}`, MaxBodyBytes)}

// bodyPool recycles body buffers: most bodies are about 25 bytes.
var bodyPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// readBody reads at most MaxBodyBytes into buf, refusing larger bodies with
// 413 (http.MaxBytesReader also makes the server close such a connection).
func readBody(w http.ResponseWriter, r *http.Request, buf []byte) ([]byte, error) {
	if r.ContentLength > MaxBodyBytes {
		return buf[:0], errTooLarge
	}
	if r.ContentLength == 0 {
		return buf[:0], nil
	}
	body := http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	buf = buf[:0]
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf[:0], readError(err)
		}
	}
}

// readError explains a failed body read. It is its own function so that
// the successful path does not pay for errors.As's heap-allocated target.
func readError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errTooLarge
	}
	return badRequest("read body: %v", err)
}
