package images

import (
	"bytes"
	"net/http"
)

// Types are the content types the gallery accepts, decided from the bytes,
// never from the client's file name or Content-Type header.
var Types = []string{"image/jpeg", "image/png", "image/gif", "image/webp"}

// Detect returns the image content type of data, or "" when data is none
// of Types. It uses the magic numbers net/http's sniffer knows (JPEG FF D8
// FF, PNG's 8-byte signature, GIF87a/GIF89a) and checks WebP's RIFF
// container itself: "RIFF", a 4-byte size, then "WEBP".
func Detect(data []byte) string {
	if len(data) >= 12 && bytes.Equal(data[:4], []byte("RIFF")) && bytes.Equal(data[8:12], []byte("WEBP")) {
		return "image/webp"
	}
	switch ct := http.DetectContentType(data); ct {
	case "image/jpeg", "image/png", "image/gif":
		return ct
	}
	return ""
}
