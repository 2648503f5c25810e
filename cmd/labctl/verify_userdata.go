package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/cloudlabs/cloudlabs/internal/machine/cloudinit"
	"github.com/cloudlabs/cloudlabs/internal/machine/role"
	"github.com/cloudlabs/cloudlabs/internal/verify"
)

// The cloud machines' resources in a stack's state, and where their
// inputs hold the user data they were deployed with.
const (
	awsInstanceType = "aws:ec2/instance:Instance" // inputs.userData
	gcpInstanceType = "gcp:compute/instance:Instance"
	// gcpUserDataKey is the key of inputs.metadata holding the user data.
	gcpUserDataKey = "user-data"
)

// secretSig marks a secret value in a Pulumi deployment; with
// --show-secrets (the Automation API's Export) it has "plaintext", the
// value's JSON, else "ciphertext".
const secretSig = "4dabf18193072939515e22adb298388d"

// deployed is the user data each cloud machine was deployed with, as the
// stack's state records it: the inputs of its instance resource. Unlike
// the offline rerun's roles it holds the real values of other resources'
// outputs (private addresses, bucket names) and, for a stateful machine
// that ignores user-data changes, the user data it actually booted with.
type deployed struct {
	// userData is by machine (the instance resource's name).
	userData map[string]string
	// errs says why a machine's user data could not be read.
	errs map[string]error
	// err, when set, says why the state could not be read at all.
	err error
}

// readDeployed reads the machines' user data from a stack export (the
// deployment JSON of `pulumi stack export --show-secrets`).
func readDeployed(deployment []byte) deployed {
	var d struct {
		Resources []struct {
			URN    string         `json:"urn"`
			Type   string         `json:"type"`
			Inputs map[string]any `json:"inputs"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(deployment, &d); err != nil {
		return deployed{err: fmt.Errorf("stack state: %w", err)}
	}
	out := deployed{userData: map[string]string{}, errs: map[string]error{}}
	for _, r := range d.Resources {
		var raw any
		var where string
		switch r.Type {
		case awsInstanceType:
			raw, where = r.Inputs["userData"], "inputs.userData"
		case gcpInstanceType:
			where = `inputs.metadata["user-data"]`
			md, err := unsecret(r.Inputs["metadata"])
			if err != nil {
				out.errs[urnName(r.URN)] = fmt.Errorf("%s: %w", where, err)
				continue
			}
			m, _ := md.(map[string]any)
			raw = m[gcpUserDataKey]
		default:
			continue
		}
		name := urnName(r.URN)
		v, err := unsecret(raw)
		if err != nil {
			out.errs[name] = fmt.Errorf("%s: %w", where, err)
			continue
		}
		s, ok := v.(string)
		if !ok || s == "" {
			out.errs[name] = fmt.Errorf("the state's %s of its instance is empty or not a string", where)
			continue
		}
		out.userData[name] = s
	}
	return out
}

// unsecret is v with a secret's plaintext opened; an encrypted one is an
// error.
func unsecret(v any) (any, error) {
	m, ok := v.(map[string]any)
	if !ok || m[secretSig] == nil {
		return v, nil
	}
	pt, ok := m["plaintext"].(string)
	if !ok {
		return nil, fmt.Errorf("a secret the export left encrypted")
	}
	var out any
	if err := json.Unmarshal([]byte(pt), &out); err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	return out, nil
}

// urnName is the resource name of a URN (its last "::" part).
func urnName(urn string) string {
	return urn[strings.LastIndex(urn, "::")+2:]
}

// of is machine's deployed user data, or why there is none.
func (d deployed) of(machine string) (string, error) {
	if d.err != nil {
		return "", d.err
	}
	if err := d.errs[machine]; err != nil {
		return "", err
	}
	ud, ok := d.userData[machine]
	if !ok {
		return "", fmt.Errorf("the stack's state holds no instance named %s", machine)
	}
	return ud, nil
}

// checksFor are the checks of a cloud machine whose role comes from the
// offline rerun, with what the rerun cannot know taken from the deployed
// user data: the file checks expect the files it writes (the role's, as
// deployed) and the downloads the hashes its fetch steps pin. Services,
// ports, health and packages stay the offline role's. A machine whose
// user data cannot be read or parsed gets its file checks UNKNOWN, with
// the reason. The notes name files the program declares now that the
// deployed user data lacks.
func (d deployed) checksFor(m verify.Machine) ([]verify.Check, []string) {
	offline := m.Role.Files
	ud, err := d.of(m.Name)
	var dep cloudinit.Deployed
	if err == nil {
		dep, err = cloudinit.Parse(ud)
	}
	r := m.Role
	r.Files = nil
	var unknown []verify.Check
	var notes []string
	if err != nil {
		reason := fmt.Sprintf("no deployed user data to compare with: %v (the offline rerun's content would hold mock values)", err)
		for _, f := range offline {
			unknown = append(unknown, verify.Check{Machine: m.Name, Name: "file:" + f.Path, Probe: func(_ context.Context) verify.Outcome {
				return verify.Outcome{Status: verify.Unknown, Expected: "sha256 of what the stack deployed", Found: reason}
			}})
		}
	} else {
		r.Files = dep.RoleFiles()
		r.Downloads = deployedDownloads(m.Role.Downloads, dep.Downloads)
		have := map[string]bool{}
		for _, f := range r.Files {
			have[f.Path] = true
		}
		var missing []string
		for _, f := range offline {
			if !have[f.Path] {
				missing = append(missing, f.Path)
			}
		}
		if len(missing) > 0 {
			sort.Strings(missing)
			notes = append(notes, fmt.Sprintf("%s: the program now declares %s, which its deployed user data does not write (config changed since up, or a stateful machine that keeps its first user data): not checked", m.Name, strings.Join(missing, ", ")))
		}
	}
	m.Role = r
	cs := verify.ChecksFor(m)
	if len(unknown) == 0 {
		return cs, notes
	}
	// In ChecksFor's order: the file checks before the packages.
	i := len(cs)
	for j, c := range cs {
		if strings.HasPrefix(c.Name, "package:") {
			i = j
			break
		}
	}
	return append(cs[:i:i], append(unknown, cs[i:]...)...), notes
}

// deployedDownloads are the offline role's downloads with the URL and
// hash of the deployed fetch step of the same path; deployed fetches of
// paths the offline role lacks are checked too, named by their file.
func deployedDownloads(offline, dep []role.Download) []role.Download {
	byPath := map[string]role.Download{}
	for _, d := range dep {
		byPath[d.Path] = d
	}
	out := make([]role.Download, 0, len(offline))
	for _, o := range offline {
		if d, ok := byPath[o.Path]; ok {
			o.URL, o.SHA256 = d.URL, d.SHA256
			delete(byPath, o.Path)
		}
		out = append(out, o)
	}
	for _, d := range dep {
		if _, ok := byPath[d.Path]; ok {
			d.Name = path.Base(d.Path)
			out = append(out, d)
		}
	}
	return out
}
