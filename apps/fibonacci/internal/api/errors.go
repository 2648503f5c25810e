package api

import (
	"fmt"
	"net/http"
)

// RequestError is a client mistake: it becomes a 4xx reply {"error": Msg}.
type RequestError struct {
	Status int
	Msg    string
}

func (e *RequestError) Error() string { return e.Msg }

func badRequest(format string, args ...any) *RequestError {
	return &RequestError{Status: http.StatusBadRequest, Msg: fmt.Sprintf(format, args...)}
}

// usage is appended to body errors so every one says what is accepted.
func usage(maxN int) string {
	return fmt.Sprintf(`send {"fibonacci_number": N} with N an integer from 0 to %d`, maxN)
}

// noInput is the answer to a /fibonacci request that gave no n at all: it
// says, for the method used, exactly what to send instead.
func noInput(method string, maxN int) *RequestError {
	if method == http.MethodGet {
		return badRequest(`no n given: use GET /fibonacci?n=N, or POST /fibonacci with the JSON body {"fibonacci_number": N}, N an integer from 0 to %d`, maxN)
	}
	return badRequest(`empty body: POST /fibonacci with the JSON body {"fibonacci_number": N}, N an integer from 0 to %d (or GET /fibonacci?n=N)`, maxN)
}

// quoteLiteral shortens what the client sent before echoing it back: a
// number thousands of digits long should not come back whole.
func quoteLiteral(s string) string {
	const keep = 24
	if len(s) <= keep {
		return s
	}
	return fmt.Sprintf("%s... (%d characters)", s[:keep], len(s))
}
