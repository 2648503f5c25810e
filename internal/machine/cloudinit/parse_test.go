package cloudinit

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/cloudlabs/cloudlabs/internal/machine/role"
)

// awkward are contents that exercise every branch of the renderer's
// yamlBlock: literal blocks with and without a final newline, and the
// quoted scalar it falls back to (control bytes, tabs, CRLF, leading and
// trailing spaces, blank trailing lines), with YAML's own syntax inside.
var awkward = map[string]string{
	"/etc/cloudlabs/riak.conf":   "nodename = riak@10.0.1.17\nring_size = 64\n# a comment: with a colon\n",
	"/etc/cloudlabs/no-newline":  "upstream app {\n  server 10.0.1.5:8080;\n}",
	"/etc/cloudlabs/yamlish":     "---\nkey: &anchor value\n- *anchor\n{ \"a\": [1, 2] }\n| > ! % @ `\n",
	"/etc/cloudlabs/binaryish":   "\x00\x01\x02\x1b[31mred\x1b[0m\tTAB\r\nCRLF\r\n\u00e9\u4e2d\U0001F600\n",
	"/etc/cloudlabs/spaces":      "  leading\ntrailing  \n\n\n",
	"/etc/cloudlabs/leading-nl":  "\nfirst line was empty\n",
	"/etc/cloudlabs/blank-lines": "a\n\n\nb\n",
	"/etc/cloudlabs/one-char":    "x",
	"/etc/cloudlabs/quotes":      "it's \"quoted\" \\ backslash $HOME %s\n",
}

func awkwardRole() role.Role {
	r := sampleRole()
	for _, p := range sortedPaths(awkward) {
		r.Files = append(r.Files, role.File{Path: p, Content: awkward[p], Mode: "0644"})
	}
	return r
}

func sortedPaths(m map[string]string) []string {
	var out []string
	for p := range m {
		out = append(out, p)
	}
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// TestParseRoundTrip: every file of a role comes back from the user data
// the renderer made of it with identical content, mode and owner, and
// RoleFiles are exactly the role's Files, in order; the downloads come
// back with their hashes.
func TestParseRoundTrip(t *testing.T) {
	r := awkwardRole()
	for _, opts := range []Options{{Platform: "aws"}, {Platform: "gcp", SSHKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGb0yU1p9wWc0Ojt0Fh2p7dEwpI3lS3b8Wm3mBvI3x1X user@host"}} {
		ud, err := Render(r, opts)
		if err != nil {
			t.Fatal(err)
		}
		d, err := Parse(ud)
		if err != nil {
			t.Fatalf("%s: %v\n%s", opts.Platform, err, ud)
		}
		got := d.RoleFiles()
		if len(got) != len(r.Files) {
			t.Fatalf("%s: %d role files back, want %d: %+v", opts.Platform, len(got), len(r.Files), got)
		}
		for i, f := range r.Files {
			if got[i] != f {
				t.Errorf("%s: file %d came back as\n%+v\nwant\n%+v", opts.Platform, i, got[i], f)
			}
		}
		files, err := Files(ud)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range r.Files {
			if files[f.Path] != f.Content {
				t.Errorf("%s: Files[%s] = %q, want %q", opts.Platform, f.Path, files[f.Path], f.Content)
			}
		}
		unit, err := Unit(r.Services[0])
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(files[FetchTool], "sha256sum -c") || files["/etc/systemd/system/"+UnitName(r.Services[0])] != unit {
			t.Errorf("%s: the platform's own files are missing from Files: %v", opts.Platform, sortedPaths(files))
		}
		if len(d.Downloads) != 1 || d.Downloads[0].SHA256 != r.Downloads[0].SHA256 || d.Downloads[0].Path != r.Downloads[0].Path || d.Downloads[0].URL != r.Downloads[0].URL {
			t.Errorf("%s: downloads %+v, want %+v", opts.Platform, d.Downloads, r.Downloads)
		}
	}
}

// TestParseEncodings: cloud-init's encodings are decoded; what is no
// #cloud-config, does not parse, or has an unknown encoding fails.
func TestParseEncodings(t *testing.T) {
	const content = "line 1\n\x00binary\n"
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(content))
	zw.Close()
	ud := "#cloud-config\nwrite_files:\n" +
		"  - path: /b64\n    encoding: b64\n    content: " + base64.StdEncoding.EncodeToString([]byte(content)) + "\n" +
		"  - path: /gzb64\n    encoding: gz+b64\n    content: " + base64.StdEncoding.EncodeToString(gz.Bytes()) + "\n" +
		"runcmd:\n  - [cp, -a, --, /b64, /x]\n  - [" + FetchTool + ", \"https://b/app\", \"" + strings.Repeat("cd", 32) + "\", /opt/app, \"0755\"]\n"
	files, err := Files(ud)
	if err != nil {
		t.Fatal(err)
	}
	d, err := Parse(ud)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Downloads) != 1 || d.Downloads[0] != (role.Download{URL: "https://b/app", SHA256: strings.Repeat("cd", 32), Path: "/opt/app", Mode: "0755"}) {
		t.Errorf("downloads %+v, want the one fetch step", d.Downloads)
	}
	if len(d.RoleFiles()) != 0 {
		t.Errorf("role files %+v, want none: no entry is deferred", d.RoleFiles())
	}
	for _, p := range []string{"/b64", "/gzb64"} {
		if files[p] != content {
			t.Errorf("%s = %q, want %q", p, files[p], content)
		}
	}
	for name, bad := range map[string]string{
		"not cloud-config": "#!/bin/sh\necho hi\n",
		"broken yaml":      "#cloud-config\nwrite_files: [\n",
		"unknown encoding": "#cloud-config\nwrite_files:\n  - path: /x\n    encoding: rot13\n    content: abc\n",
		"twice":            "#cloud-config\nwrite_files:\n  - path: /x\n    content: a\n  - path: /x\n    content: b\n",
	} {
		if _, err := Files(bad); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}
