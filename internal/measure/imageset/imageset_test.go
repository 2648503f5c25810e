package imageset

import (
	"bytes"
	"image"
	_ "image/jpeg"
	_ "image/png"
	"net/http"
	"testing"
)

func spec(seed uint64, count int) Spec {
	sizes, err := ParseSizes("2KB:1,16KB:1")
	if err != nil {
		panic(err)
	}
	return Spec{Seed: seed, Count: count, Sizes: sizes, JPEGShare: 0.5, Prefix: "img-"}
}

func TestSameSeedSameFiles(t *testing.T) {
	a, err := Generate(spec(7, 20))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Generate(spec(7, 20))
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 20 || len(b) != 20 {
		t.Fatalf("got %d and %d images, want 20 each", len(a), len(b))
	}
	for i := range a {
		if a[i].Key != b[i].Key || !bytes.Equal(a[i].Data, b[i].Data) {
			t.Errorf("image %d differs between two runs with seed 7", i)
		}
	}
	// A longer set keeps the first images as they were.
	longer, err := Generate(spec(7, 25))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(longer[19].Data, a[19].Data) {
		t.Error("image 19 changed when the set grew from 20 to 25")
	}
}

func TestOtherSeedOtherFiles(t *testing.T) {
	a, _ := Generate(spec(7, 10))
	b, _ := Generate(spec(8, 10))
	same := 0
	for i := range a {
		if bytes.Equal(a[i].Data, b[i].Data) {
			same++
		}
	}
	if same != 0 {
		t.Errorf("%d of 10 images are identical under seeds 7 and 8, want 0", same)
	}
}

// Every file decodes as the type it claims, which content sniffing (how
// the gallery recognises images) agrees with; sizes follow their class.
func TestFilesAreValidImagesOfTheirSize(t *testing.T) {
	ims, err := Generate(spec(3, 40))
	if err != nil {
		t.Fatal(err)
	}
	if len(ims) != 40 {
		t.Fatalf("got %d images, want 40", len(ims))
	}
	kinds := map[string]int{}
	for _, im := range ims {
		_, format, err := image.Decode(bytes.NewReader(im.Data))
		if err != nil {
			t.Fatalf("%s: does not decode: %v", im.Key, err)
		}
		if "image/"+format != im.ContentType {
			t.Errorf("%s: decodes as %s, claims %s", im.Key, format, im.ContentType)
		}
		if got := http.DetectContentType(im.Data); got != im.ContentType {
			t.Errorf("%s: sniffed as %s, claims %s", im.Key, got, im.ContentType)
		}
		if n := len(im.Data); float64(n) < 0.6*float64(im.Target) || float64(n) > 1.6*float64(im.Target) {
			t.Errorf("%s: %d bytes, drawn from the %d-byte class", im.Key, n, im.Target)
		}
		kinds[im.ContentType]++
	}
	if kinds["image/png"] == 0 || kinds["image/jpeg"] == 0 {
		t.Errorf("kinds %v: want both PNG and JPEG at a share of 0.5", kinds)
	}
}

func TestParseSizes(t *testing.T) {
	cs, err := ParseSizes(DefaultSizes)
	if err != nil {
		t.Fatal(err)
	}
	if got := FormatSizes(cs); got != DefaultSizes {
		t.Errorf("FormatSizes(ParseSizes(%q)) = %q", DefaultSizes, got)
	}
	for _, bad := range []string{"", "8KB", "8KB:0", "x:1", "8KB:-1", "0KB:1"} {
		if _, err := ParseSizes(bad); err == nil {
			t.Errorf("ParseSizes(%q) accepted", bad)
		}
	}
}
