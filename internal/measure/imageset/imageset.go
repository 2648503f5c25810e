// Package imageset makes a repeatable set of random, valid PNG and JPEG
// images from a seed, with file sizes drawn from a chosen distribution: the
// lab's "large dataset of images", made locally instead of downloaded.
package imageset

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Class is one bar of a size distribution: files of about Bytes, drawn
// with probability Weight / (sum of weights).
type Class struct {
	Bytes  int
	Weight float64
}

// Spec says what to make. The same Spec gives the same files, byte for
// byte (with the same Go release: image/png and image/jpeg are
// deterministic but not frozen across releases).
type Spec struct {
	Seed  uint64
	Count int
	// Sizes is the file size distribution.
	Sizes []Class
	// JPEGShare is the share of images made as JPEG (the rest are PNG).
	JPEGShare float64
	// Prefix names the keys: Prefix + five-digit index.
	Prefix string
}

// DefaultSizes is mostly small images with a tail of larger ones, mean
// about 33 KB: enough images fit a default 64 MB node to make the cache
// matter, and few enough to make eviction reachable by shrinking capacity.
const DefaultSizes = "8KB:60,32KB:30,160KB:10"

// Image is one generated file.
type Image struct {
	Key         string
	ContentType string // image/png or image/jpeg
	Data        []byte
	// Target is the size class it was drawn from, in bytes.
	Target int
}

// SHA256 is the hex digest of Data.
func (im Image) SHA256() string {
	s := sha256.Sum256(im.Data)
	return hex.EncodeToString(s[:])
}

// Check reports every bad field, naming it, its value and what is allowed.
func (s Spec) Check() error {
	switch {
	case s.Count < 1:
		return fmt.Errorf("image count %d: want at least 1", s.Count)
	case len(s.Sizes) == 0:
		return fmt.Errorf("image sizes: want at least one size:weight class")
	case !(s.JPEGShare >= 0 && s.JPEGShare <= 1):
		return fmt.Errorf("jpeg share %v: want 0..1", s.JPEGShare)
	}
	for _, c := range s.Sizes {
		if c.Bytes < 256 || c.Bytes > 4<<20 || !(c.Weight > 0) {
			return fmt.Errorf("image size class %d bytes weight %v: want 256 B..4 MB and a positive weight", c.Bytes, c.Weight)
		}
	}
	return nil
}

// ParseSizes reads "8KB:60,32KB:30,160KB:10" (size with B, KB or MB, then
// a weight).
func ParseSizes(s string) ([]Class, error) {
	var out []Class
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		size, weight, ok := strings.Cut(part, ":")
		if !ok {
			return nil, fmt.Errorf("image size class %q: want size:weight, such as 32KB:30", part)
		}
		n, err := ParseBytes(size)
		if err != nil {
			return nil, fmt.Errorf("image size class %q: %w", part, err)
		}
		w, err := strconv.ParseFloat(strings.TrimSpace(weight), 64)
		if err != nil || !(w > 0) || math.IsInf(w, 0) {
			return nil, fmt.Errorf("image size class %q: weight %q: want a positive number", part, weight)
		}
		out = append(out, Class{Bytes: n, Weight: w})
	}
	return out, nil
}

// FormatSizes is the inverse of ParseSizes.
func FormatSizes(cs []Class) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = formatBytes(c.Bytes) + ":" + strconv.FormatFloat(c.Weight, 'f', -1, 64)
	}
	return strings.Join(parts, ",")
}

// ParseBytes reads a size with B, KB or MB (binary units): 160KB, 2MB, 300.
func ParseBytes(s string) (int, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	mult := 1
	for _, u := range []struct {
		suffix string
		m      int
	}{{"MB", 1 << 20}, {"KB", 1 << 10}, {"B", 1}} {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = rest, u.m
			break
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("size %q: want a whole number of B, KB or MB", s)
	}
	return n * mult, nil
}

func formatBytes(n int) string {
	switch {
	case n%(1<<20) == 0:
		return strconv.Itoa(n>>20) + "MB"
	case n%(1<<10) == 0:
		return strconv.Itoa(n>>10) + "KB"
	}
	return strconv.Itoa(n) + "B"
}

// Generate makes the images. Image i depends only on (Seed, i): a larger
// Count keeps the first images as they were.
func Generate(s Spec) ([]Image, error) {
	if err := s.Check(); err != nil {
		return nil, err
	}
	out := make([]Image, s.Count)
	for i := range out {
		im, err := One(s, i)
		if err != nil {
			return nil, err
		}
		out[i] = im
	}
	return out, nil
}

// Key is the key of image i.
func (s Spec) Key(i int) string { return fmt.Sprintf("%s%05d", s.Prefix, i) }

// One makes image i of s.
func One(s Spec, i int) (Image, error) {
	r := rand.New(rand.NewPCG(s.Seed, uint64(i)))
	target := draw(r, s.Sizes)
	asJPEG := r.Float64() < s.JPEGShare
	im := Image{Key: s.Key(i), Target: target}
	var buf bytes.Buffer
	if asJPEG {
		// Noise at quality 90 (4:2:0 chroma) costs about 1.15 bytes a pixel.
		pic := noise(r, side(target, 1.15))
		if err := jpeg.Encode(&buf, pic, &jpeg.Options{Quality: 90}); err != nil {
			return Image{}, fmt.Errorf("encode image %d as jpeg: %w", i, err)
		}
		im.ContentType = "image/jpeg"
	} else {
		// Noise does not compress: 3 bytes per RGB pixel, plus a byte a row.
		pic := noise(r, side(target, 3))
		enc := png.Encoder{CompressionLevel: png.BestSpeed}
		if err := enc.Encode(&buf, pic); err != nil {
			return Image{}, fmt.Errorf("encode image %d as png: %w", i, err)
		}
		im.ContentType = "image/png"
	}
	im.Data = buf.Bytes()
	return im, nil
}

func draw(r *rand.Rand, cs []Class) int {
	total := 0.0
	for _, c := range cs {
		total += c.Weight
	}
	x := r.Float64() * total
	for _, c := range cs {
		if x < c.Weight {
			return c.Bytes
		}
		x -= c.Weight
	}
	return cs[len(cs)-1].Bytes
}

// side is the square's edge whose encoding is about target bytes at
// perPixel bytes a pixel.
func side(target int, perPixel float64) int {
	return max(4, int(math.Sqrt(float64(target)/perPixel)))
}

// noise is an opaque image of random pixels: it compresses poorly, so its
// file size follows its pixel count.
func noise(r *rand.Rand, n int) *image.NRGBA {
	pic := image.NewNRGBA(image.Rect(0, 0, n, n))
	for y := range n {
		for x := range n {
			v := r.Uint32()
			pic.SetNRGBA(x, y, color.NRGBA{R: uint8(v), G: uint8(v >> 8), B: uint8(v >> 16), A: 255})
		}
	}
	return pic
}
