package poolreporttest

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/cloudlabs/cloudlabs/internal/measure/imageset"
)

// TestDeleteAllDataReachesTheGallery: the manager's "delete all data"
// (POST /api/delete with its confirmation) answers only once the gallery,
// which holds the bucket, has deleted every image: then no key is left.
func TestDeleteAllDataReachesTheGallery(t *testing.T) {
	st := Start(t, 2, 2, "lab")
	sizes, err := imageset.ParseSizes("8KB:100")
	if err != nil {
		t.Fatal(err)
	}
	set, err := imageset.Generate(imageset.Spec{Seed: 7, Count: 3, Sizes: sizes, Prefix: "wipe-"})
	if err != nil {
		t.Fatal(err)
	}
	if len(set) != 3 {
		t.Fatalf("%d images, want 3", len(set))
	}
	for i, img := range set {
		var body bytes.Buffer
		w := multipart.NewWriter(&body)
		_ = w.WriteField("key", img.Key)
		f, _ := w.CreateFormFile("file", "x")
		f.Write(img.Data)
		w.Close()
		if code, out := call(t, http.MethodPost, st.GalleryURL+"/api/upload", w.FormDataContentType(), "", &body); code != http.StatusOK {
			t.Fatalf("upload %d: %d %s", i, code, out)
		}
	}
	if keys := listKeys(t, st); len(keys) != 3 {
		t.Fatalf("keys before: %q, want 3", keys)
	}
	code, out := call(t, http.MethodPost, st.ManagerURL+"/api/delete", "application/json", st.Token, strings.NewReader(`{"confirm": "delete all data"}`))
	if code != http.StatusOK || !strings.Contains(out, `"gallery":true`) {
		t.Fatalf("POST /api/delete: %d %s, want 200 with the gallery's images deleted", code, out)
	}
	if keys := listKeys(t, st); len(keys) != 0 {
		t.Errorf("keys after delete all data: %q, want none", keys)
	}
}

func call(t *testing.T, method, url, ctype, token string, body io.Reader) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func listKeys(t *testing.T, st *Stack) []string {
	t.Helper()
	code, out := call(t, http.MethodPost, st.GalleryURL+"/api/list_keys", "", "", nil)
	var r struct {
		Keys []string `json:"keys"`
	}
	if code != http.StatusOK || json.Unmarshal([]byte(out), &r) != nil {
		t.Fatalf("list_keys: %d %s", code, out)
	}
	return r.Keys
}
