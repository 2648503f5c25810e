package verify

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
)

// ReservedImageKey is the gallery key the round trip uploads under: it is
// the probe's own, replaced on every run.
const ReservedImageKey = "cloudlabs-verify-probe"

// probePNG is a valid 4×4 PNG whose pixels are random, so that each run
// uploads bytes no earlier run did (a stale copy cannot pass).
func probePNG() ([]byte, error) {
	var px [4 * 4 * 3]byte
	if _, err := rand.Read(px[:]); err != nil {
		return nil, err
	}
	img := image.NewNRGBA(image.Rect(0, 0, 4, 4))
	for i := 0; i < 16; i++ {
		img.SetNRGBA(i%4, i/4, color.NRGBA{R: px[3*i], G: px[3*i+1], B: px[3*i+2], A: 0xff})
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func shortSum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])[:16]
}

// galleryReply is the lab API's reply: success is the string "true".
type galleryReply struct {
	Success string `json:"success"`
	Content string `json:"content"`
	Error   *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// galleryPost posts body to the gallery and reads its JSON reply. A
// transport error, a status other than 200, a body that is not JSON or
// success other than "true" is an error naming the status and body.
func galleryPost(ctx context.Context, u, contentType string, body io.Reader) (galleryReply, error) {
	var r galleryReply
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, body)
	if err != nil {
		return r, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := client.Do(req)
	if err != nil {
		return r, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return r, fmt.Errorf("status %d, reading the body: %v", resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK {
		return r, fmt.Errorf("status %d: %s", resp.StatusCode, clip(b))
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("status 200, not the lab's JSON (%v): %s", err, clip(b))
	}
	if r.Success != "true" {
		return r, fmt.Errorf("status 200, success %q: %s", r.Success, clip(b))
	}
	return r, nil
}

// clip is a reply body for a message: trimmed, at most 200 bytes.
func clip(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// GalleryRoundTrip uploads a fresh PNG under ReservedImageKey through the
// lab's API (POST /api/upload, multipart key + file) and reads it back
// (POST /api/key/<key>): the base64-decoded content must be the very bytes
// uploaded. CRITICAL names the step that failed.
func GalleryRoundTrip(machine, baseURL string) Check {
	return Check{Machine: machine, Name: "roundtrip", Eventually: true, Probe: func(ctx context.Context) Outcome {
		img, err := probePNG()
		if err != nil {
			return Outcome{Status: Unknown, Found: err.Error()}
		}
		exp := fmt.Sprintf("PNG of %d bytes (sha256 %s…) uploaded under %q and read back identical", len(img), shortSum(img), ReservedImageKey)
		base := strings.TrimRight(baseURL, "/")

		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		if err := mw.WriteField("key", ReservedImageKey); err != nil {
			return Outcome{Status: Unknown, Expected: exp, Found: err.Error()}
		}
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="file"; filename="cloudlabs-verify-probe.png"`)
		h.Set("Content-Type", "image/png")
		part, err := mw.CreatePart(h)
		if err == nil {
			_, err = part.Write(img)
		}
		if err == nil {
			err = mw.Close()
		}
		if err != nil {
			return Outcome{Status: Unknown, Expected: exp, Found: err.Error()}
		}
		if _, err := galleryPost(ctx, base+"/api/upload", mw.FormDataContentType(), &body); err != nil {
			return Outcome{Status: Critical, Expected: exp, Found: "upload (POST /api/upload): " + err.Error()}
		}

		r, err := galleryPost(ctx, base+"/api/key/"+url.PathEscape(ReservedImageKey), "", nil)
		if err != nil {
			return Outcome{Status: Critical, Expected: exp, Found: "retrieve (POST /api/key/" + ReservedImageKey + "): " + err.Error()}
		}
		got, err := base64.StdEncoding.DecodeString(r.Content)
		if err != nil {
			return Outcome{Status: Critical, Expected: exp, Found: fmt.Sprintf("retrieve: content is not standard base64 (%v)", err)}
		}
		if !bytes.Equal(got, img) {
			return Outcome{Status: Critical, Expected: exp, Found: fmt.Sprintf("bytes differ: uploaded %d bytes (sha256 %s…), read back %d bytes (sha256 %s…)",
				len(img), shortSum(img), len(got), shortSum(got))}
		}
		return Outcome{Status: OK, Expected: exp, Found: fmt.Sprintf("read back %d identical bytes", len(got))}
	}}
}
