package workload

import (
	"bytes"
	"net/url"
	"strings"
	"testing"

	"github.com/cloudlabs/cloudlabs/internal/measure/contactgen"
)

var labSpec = Spec{Seed: 7, Contacts: 10000, Requests: 500, Adds: 100, Zipf: 1.1}

func csvBytes(t *testing.T, s Spec) []byte {
	t.Helper()
	rows, err := Build(s)
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	var b bytes.Buffer
	if err := WriteCSV(&b, rows); err != nil {
		t.Fatalf("write: %v", err)
	}
	return b.Bytes()
}

func TestBuildDeterministic(t *testing.T) {
	a, b := csvBytes(t, labSpec), csvBytes(t, labSpec)
	if !bytes.Equal(a, b) {
		t.Fatal("same spec gave different CSV bytes")
	}
	other := labSpec
	other.Seed = 8
	if bytes.Equal(a, csvBytes(t, other)) {
		t.Fatal("seeds 7 and 8 gave the same CSV")
	}
	if first, _, _ := strings.Cut(string(a), "\n"); first != "method,path,body,name,number" {
		t.Fatalf("header: got %q, want %q", first, "method,path,body,name,number")
	}
	if bytes.ContainsRune(a, '"') {
		t.Fatal("CSV has a quoted field; JMeter would need 'allow quoted data'")
	}
}

func TestBuildContent(t *testing.T) {
	rows, err := Build(labSpec)
	if err != nil {
		t.Fatal(err)
	}
	seeded := map[string]string{}
	for _, c := range contactgen.Generate(labSpec.Seed, labSpec.Contacts) {
		seeded[c.Name] = c.Number
	}
	adds, gets, firstHalfAdds := 0, 0, 0
	popularity := map[string]int{}
	for i, r := range rows {
		switch r.Method {
		case "POST":
			adds++
			if i < len(rows)/2 {
				firstHalfAdds++
			}
			if _, ok := seeded[r.Name]; ok {
				t.Errorf("add of %q overwrites a seeded contact", r.Name)
			}
			form, err := url.ParseQuery(r.Body)
			if err != nil || form.Get("name") != r.Name || form.Get("number") != r.Number {
				t.Errorf("add body %q does not carry name %q and number %q", r.Body, r.Name, r.Number)
			}
		case "GET":
			gets++
			popularity[r.Name]++
			if want, ok := seeded[r.Name]; !ok || want != r.Number {
				t.Errorf("get of %q expects %q, seeded number is %q", r.Name, r.Number, want)
			}
			if p, _ := url.PathUnescape(strings.TrimPrefix(r.Path, GetPrefix)); p != r.Name {
				t.Errorf("path %q does not unescape to %q", r.Path, r.Name)
			}
		}
	}
	if adds != 100 || gets != 400 {
		t.Fatalf("got %d adds and %d gets, want 100 and 400", adds, gets)
	}
	if firstHalfAdds == 0 || firstHalfAdds == adds {
		t.Errorf("adds are not shuffled among gets: %d of %d in the first half", firstHalfAdds, adds)
	}
	top := 0
	for _, n := range popularity {
		top = max(top, n)
	}
	// Zipf(1.1) over 10,000 contacts: the top contact takes a large share
	// of 400 gets; uniform picks would almost never repeat a name 10 times.
	if top < 10 {
		t.Errorf("most popular contact asked %d times: popularity is not skewed", top)
	}
}

func TestSpecValidate(t *testing.T) {
	cases := []struct {
		name string
		edit func(*Spec)
		want string
	}{
		{"zipf must exceed one", func(s *Spec) { s.Zipf = 1 }, "zipf"},
		{"adds within requests", func(s *Spec) { s.Adds = 501 }, "adds"},
		{"requests positive", func(s *Spec) { s.Requests = 0 }, "requests"},
		{"gets need contacts", func(s *Spec) { s.Contacts = 0 }, "contacts"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := labSpec
			c.edit(&s)
			err := s.Validate()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error naming %q", err, c.want)
			}
		})
	}
}

func TestCSVRoundTrip(t *testing.T) {
	rows, _ := Build(labSpec)
	var b bytes.Buffer
	if err := WriteCSV(&b, rows); err != nil {
		t.Fatal(err)
	}
	got, err := ReadCSV(&b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(rows) {
		t.Fatalf("got %d rows, want %d", len(got), len(rows))
	}
	for i := range rows {
		if got[i] != rows[i] {
			t.Fatalf("row %d: got %+v, want %+v", i, got[i], rows[i])
		}
	}
	if _, err := ReadCSV(strings.NewReader("a,b,c,d,e\n")); err == nil {
		t.Fatal("a wrong header was accepted")
	}
}
