package server

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"unicode/utf8"

	"github.com/cloudlabs/cloudlabs/apps/gallery/internal/images"
)

// formOverhead is what a multipart body may carry beside the image: the
// key field, part headers, boundaries.
const formOverhead = 64 << 10

// uploadError is a refused upload: its HTTP status and a message.
type uploadError struct {
	status int
	msg    string
}

func (e *uploadError) Error() string { return e.msg }

// readUpload streams a multipart/form-data body with fields key and file.
// The body is capped by http.MaxBytesReader and the file is read at most
// one byte past MaxImage, so an oversized upload is refused (413) without
// being buffered. The field order does not matter.
func (s *Server) readUpload(w http.ResponseWriter, r *http.Request) (key string, data []byte, err error) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		return "", nil, &uploadError{http.StatusBadRequest, "send multipart/form-data with the fields key and file"}
	}
	if r.ContentLength > s.MaxImage+formOverhead {
		return "", nil, s.tooLarge()
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.MaxImage+formOverhead)
	mr, err := r.MultipartReader()
	if err != nil {
		return "", nil, &uploadError{http.StatusBadRequest, "malformed multipart body: " + err.Error()}
	}
	var haveKey, haveFile bool
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", nil, s.bodyError(err)
		}
		switch part.FormName() {
		case "key":
			if haveKey {
				return "", nil, &uploadError{http.StatusBadRequest, "the field key appears twice"}
			}
			b, err := io.ReadAll(io.LimitReader(part, images.MaxKeyBytes+1))
			if err != nil {
				return "", nil, s.bodyError(err)
			}
			if len(b) > images.MaxKeyBytes {
				return "", nil, &uploadError{http.StatusBadRequest, fmt.Sprintf("key is longer than %d bytes", images.MaxKeyBytes)}
			}
			key, haveKey = string(b), true
		case "file":
			if haveFile {
				return "", nil, &uploadError{http.StatusBadRequest, "the field file appears twice"}
			}
			data, err = io.ReadAll(io.LimitReader(part, s.MaxImage+1))
			if err != nil {
				return "", nil, s.bodyError(err)
			}
			if int64(len(data)) > s.MaxImage {
				return "", nil, s.tooLarge()
			}
			haveFile = true
		}
		part.Close()
	}
	switch {
	case !haveKey:
		return "", nil, &uploadError{http.StatusBadRequest, "missing field: key"}
	case !haveFile:
		return "", nil, &uploadError{http.StatusBadRequest, "missing field: file"}
	case len(data) == 0:
		return "", nil, &uploadError{http.StatusBadRequest, "the file is empty"}
	case !utf8.ValidString(key):
		return "", nil, &uploadError{http.StatusBadRequest, "key is not valid UTF-8"}
	}
	return key, data, nil
}

func (s *Server) tooLarge() error {
	return &uploadError{http.StatusRequestEntityTooLarge, fmt.Sprintf("the image is larger than the limit of %d bytes", s.MaxImage)}
}

func (s *Server) bodyError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return s.tooLarge()
	}
	return &uploadError{http.StatusBadRequest, "malformed multipart body: " + err.Error()}
}
