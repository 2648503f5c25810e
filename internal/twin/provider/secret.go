package provider

import (
	"context"
	"crypto/rand"
	"fmt"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
)

// Secret is the cloudlabs:local:Secret resource: a random value made once
// and kept in the stack's state as a Pulumi secret (the twin's stand-in for
// the random provider, which the twin does not need to download).
type Secret struct{}

// SecretArgs are the inputs.
type SecretArgs struct {
	// Length is the number of characters; a new length makes a new value.
	Length int `pulumi:"length"`
}

// SecretState is what the provider records.
type SecretState struct {
	SecretArgs
	// Value is the secret: letters and digits.
	Value string `pulumi:"value" provider:"secret"`
}

// Annotate sets the token and documents the resource in the schema.
func (s *Secret) Annotate(a infer.Annotator) {
	a.SetToken("local", "Secret")
	a.Describe(s, "A random secret of the local twin, made once and kept in the stack's state.")
}

// Create makes the value (not in a preview, where it stays unknown).
func (Secret) Create(ctx context.Context, req infer.CreateRequest[SecretArgs]) (infer.CreateResponse[SecretState], error) {
	if req.Inputs.Length < 16 || req.Inputs.Length > 256 {
		return infer.CreateResponse[SecretState]{}, fmt.Errorf("secret %s: length %d; allowed: 16 to 256", req.Name, req.Inputs.Length)
	}
	st := SecretState{SecretArgs: req.Inputs}
	if !req.DryRun {
		st.Value = randomString(req.Inputs.Length)
	}
	return infer.CreateResponse[SecretState]{ID: req.Name, Output: st}, nil
}

// Diff replaces the value only when its length changes.
func (Secret) Diff(ctx context.Context, req infer.DiffRequest[SecretArgs, SecretState]) (infer.DiffResponse, error) {
	if req.Inputs.Length == req.State.Length {
		return infer.DiffResponse{}, nil
	}
	return infer.DiffResponse{HasChanges: true, DeleteBeforeReplace: true,
		DetailedDiff: map[string]p.PropertyDiff{"length": {Kind: p.UpdateReplace}}}, nil
}

const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// randomString draws n characters uniformly from alphabet (rand.Text's
// rejection idea: bytes at or above the largest multiple are redrawn).
func randomString(n int) string {
	limit := byte(256 - 256%len(alphabet))
	out := make([]byte, 0, n)
	buf := make([]byte, 2*n)
	for len(out) < n {
		rand.Read(buf) // never fails (crypto/rand)
		for _, b := range buf {
			if b < limit && len(out) < n {
				out = append(out, alphabet[int(b)%len(alphabet)])
			}
		}
	}
	return string(out)
}
