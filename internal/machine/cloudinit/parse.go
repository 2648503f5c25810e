package cloudinit

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"fmt"
	"io"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/cloudlabs/cloudlabs/internal/machine/role"
)

// FetchTool is the boot step that fetches a download and checks its
// SHA-256 (templates/fetch.sh.tmpl); Render runs it once per download:
// [FetchTool, url, sha256, path, mode].
const FetchTool = "/usr/local/sbin/cloudlabs-fetch"

// Written is one write_files entry of a user data.
type Written struct {
	role.File
	// Deferred is cloud-init's defer: Render defers exactly the role's
	// Files (written after users and packages exist); its own tools and
	// systemd units are not deferred.
	Deferred bool
}

// Deployed is what a #cloud-config user data puts on its machine, read
// back: the inverse of Render for what verify compares.
type Deployed struct {
	// Files are the write_files entries in order, contents decoded.
	Files []Written
	// Downloads are runcmd's fetch steps, in order; without names (the
	// user data does not carry them).
	Downloads []role.Download
}

// RoleFiles are the role's Files as deployed: the deferred entries.
func (d Deployed) RoleFiles() []role.File {
	var out []role.File
	for _, f := range d.Files {
		if f.Deferred {
			out = append(out, f.File)
		}
	}
	return out
}

// Files returns path → content of every file a #cloud-config user data
// writes (write_files), contents decoded.
func Files(userData string) (map[string]string, error) {
	d, err := Parse(userData)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(d.Files))
	for _, f := range d.Files {
		out[f.Path] = f.Content
	}
	return out, nil
}

// Parse reads a #cloud-config user data: its write_files (plain content,
// as Render writes it, or cloud-init's b64, gzip and gzip+b64 encodings)
// and its fetch steps.
func Parse(userData string) (Deployed, error) {
	if !strings.HasPrefix(userData, "#cloud-config\n") {
		first, _, _ := strings.Cut(userData, "\n")
		if len(first) > 40 {
			first = first[:40] + "…"
		}
		return Deployed{}, fmt.Errorf("user data is not a #cloud-config (it starts %q)", first)
	}
	var doc struct {
		WriteFiles []struct {
			Path        string `yaml:"path"`
			Content     string `yaml:"content"`
			Encoding    string `yaml:"encoding"`
			Permissions string `yaml:"permissions"`
			Owner       string `yaml:"owner"`
			Defer       bool   `yaml:"defer"`
		} `yaml:"write_files"`
		RunCmd []any `yaml:"runcmd"`
	}
	if err := yaml.Unmarshal([]byte(userData), &doc); err != nil {
		return Deployed{}, fmt.Errorf("user data: %w", err)
	}
	var d Deployed
	seen := map[string]bool{}
	for i, w := range doc.WriteFiles {
		if w.Path == "" {
			return Deployed{}, fmt.Errorf("user data: write_files[%d] has no path", i)
		}
		if seen[w.Path] {
			return Deployed{}, fmt.Errorf("user data: write_files writes %s twice", w.Path)
		}
		seen[w.Path] = true
		content, err := decode(w.Content, w.Encoding)
		if err != nil {
			return Deployed{}, fmt.Errorf("user data: write_files %s: %w", w.Path, err)
		}
		owner, _, _ := strings.Cut(w.Owner, ":")
		d.Files = append(d.Files, Written{File: role.File{Path: w.Path, Content: content, Mode: w.Permissions, Owner: owner}, Deferred: w.Defer})
	}
	for _, c := range doc.RunCmd {
		words, ok := c.([]any)
		if !ok || len(words) != 5 || words[0] != FetchTool {
			continue
		}
		s := make([]string, 5)
		for i, w := range words {
			if s[i], ok = w.(string); !ok {
				return Deployed{}, fmt.Errorf("user data: fetch step %v: word %d is not a string", words, i)
			}
		}
		d.Downloads = append(d.Downloads, role.Download{URL: s[1], SHA256: s[2], Path: s[3], Mode: s[4]})
	}
	return d, nil
}

// decode undoes a write_files encoding, as cloud-init names them.
func decode(content, encoding string) (string, error) {
	var raw []byte
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "", "text/plain":
		return content, nil
	case "b64", "base64":
		b, err := base64.StdEncoding.DecodeString(content)
		return string(b), err
	case "gz", "gzip":
		raw = []byte(content)
	case "gz+b64", "gz+base64", "gzip+b64", "gzip+base64":
		b, err := base64.StdEncoding.DecodeString(content)
		if err != nil {
			return "", err
		}
		raw = b
	default:
		return "", fmt.Errorf("encoding %q; known: b64, gzip, gzip+b64", encoding)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return "", err
	}
	b, err := io.ReadAll(zr)
	return string(b), err
}
