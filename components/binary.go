package components

import "github.com/pulumi/pulumi/sdk/v3/go/pulumi"

// Binary is an app published for the machines: where they fetch it and the
// hash they check it against. A new hash changes the role of every
// stateless machine running it, so preview shows the change and `up`
// replaces those machines.
type Binary struct {
	Name   string
	SHA256 string
	URL    pulumi.StringOutput
}

// Binaries are the published apps by name ("fibonacci", "phonebook", "cachenode").
type Binaries map[string]Binary
