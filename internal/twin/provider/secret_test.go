package provider

import (
	"strings"
	"testing"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
)

func TestSecretIsRandomOfItsLength(t *testing.T) {
	seen := map[string]bool{}
	for i := range 20 {
		resp, err := Secret{}.Create(t.Context(), infer.CreateRequest[SecretArgs]{Name: "s", Inputs: SecretArgs{Length: 40}})
		if err != nil {
			t.Fatal(err)
		}
		v := resp.Output.Value
		if len(v) != 40 {
			t.Fatalf("value %d: %d characters, want 40", i, len(v))
		}
		if strings.Trim(v, alphabet) != "" {
			t.Fatalf("value %q has characters outside letters and digits", v)
		}
		seen[v] = true
	}
	if len(seen) != 20 {
		t.Errorf("20 secrets, %d distinct", len(seen))
	}
}

func TestSecretPreviewMakesNoValue(t *testing.T) {
	resp, err := Secret{}.Create(t.Context(), infer.CreateRequest[SecretArgs]{Name: "s", Inputs: SecretArgs{Length: 32}, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Output.Value != "" {
		t.Errorf("a preview made the value %q", resp.Output.Value)
	}
}

func TestSecretLengthBounds(t *testing.T) {
	for _, n := range []int{0, 15, 257} {
		if _, err := (Secret{}).Create(t.Context(), infer.CreateRequest[SecretArgs]{Name: "s", Inputs: SecretArgs{Length: n}}); err == nil || !strings.Contains(err.Error(), "allowed: 16 to 256") {
			t.Errorf("length %d: got %v, want an error naming 16 to 256", n, err)
		}
	}
}

func TestSecretKeptUnlessLengthChanges(t *testing.T) {
	state := SecretState{SecretArgs: SecretArgs{Length: 32}, Value: "x"}
	same, err := Secret{}.Diff(t.Context(), infer.DiffRequest[SecretArgs, SecretState]{Inputs: SecretArgs{Length: 32}, State: state})
	if err != nil {
		t.Fatal(err)
	}
	if same.HasChanges {
		t.Error("same length: the secret would change")
	}
	longer, err := Secret{}.Diff(t.Context(), infer.DiffRequest[SecretArgs, SecretState]{Inputs: SecretArgs{Length: 40}, State: state})
	if err != nil {
		t.Fatal(err)
	}
	if !longer.HasChanges || longer.DetailedDiff["length"].Kind != p.UpdateReplace {
		t.Errorf("new length: diff %+v, want a replacement", longer)
	}
}
