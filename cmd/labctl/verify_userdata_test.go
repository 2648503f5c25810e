package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cloudlabs/cloudlabs/internal/machine/cloudinit"
	"github.com/cloudlabs/cloudlabs/internal/machine/role"
	"github.com/cloudlabs/cloudlabs/internal/verify"
)

// fakeMachine is a Transport serving files from a map: what the machine
// holds. Services run, packages are installed, no port answers.
type fakeMachine struct{ files map[string]string }

func (fakeMachine) Kind() string { return "ssh" }
func (fakeMachine) Run(context.Context, string) (string, int, error) {
	return "install ok installed 1.0", 0, nil
}
func (f fakeMachine) ReadFile(_ context.Context, p string) ([]byte, error) {
	c, ok := f.files[p]
	if !ok {
		return nil, fmt.Errorf("%s: %w", p, os.ErrNotExist)
	}
	return []byte(c), nil
}
func (f fakeMachine) Hash(ctx context.Context, p string) (string, error) {
	b, err := f.ReadFile(ctx, p)
	if err != nil {
		return "", err
	}
	return sum256(string(b)), nil
}
func (fakeMachine) Dial(context.Context, int) (net.Conn, error) {
	return nil, fmt.Errorf("no port answers here")
}
func (fakeMachine) Service(context.Context, role.Service) (verify.ServiceState, error) {
	return verify.ServiceState{Running: true, Active: "active", Enabled: "enabled"}, nil
}

func sum256(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }

const (
	riakConf   = "/etc/riak/riak.conf"
	upstreams  = "/etc/cloudlabs/phonebook.env"
	appBin     = "/opt/cloudlabs/bin/phonebook"
	mockHash   = "0000000000000000000000000000000000000000000000000000000000000000"
	builtHash  = "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"
	deployedIP = "10.0.1.17"
)

// cannedRoles are two machines' roles: as the offline rerun gives them
// (mock addresses, a placeholder hash) and as they were deployed.
func cannedRoles() (offline, deployedRoles map[string]role.Role) {
	riak := func(addr string) role.Role {
		return role.Role{
			Name:     "riak",
			Packages: []string{"riak"},
			Files: []role.File{
				{Path: riakConf, Content: "nodename = riak@" + addr + "\nring_size = 64\n\tbinaryish \x00\x1b[0m\r\n", Mode: "0644", Owner: "riak"},
				{Path: "/usr/local/sbin/riak-join", Content: "#!/bin/sh\nriak admin cluster join riak@" + addr + "\n", Mode: "0755"},
			},
			Services: []role.Service{{Name: "riak", Exec: "/usr/sbin/riak", SystemdUnit: "riak", Port: 8087}},
			Secrets:  []role.SecretFile{{Name: "riak-cookie", Path: "/etc/riak/cookie", Mode: "0600", Owner: "riak"}},
		}
	}
	web := func(sum string) role.Role {
		return role.Role{
			Name:      "phonebook",
			Downloads: []role.Download{{Name: "phonebook", URL: "https://bucket/phonebook", SHA256: sum, Path: appBin, Mode: "0755"}},
			Files:     []role.File{{Path: upstreams, Content: "RIAK=riak-1:8087\n", Mode: "0644"}},
			Services:  []role.Service{{Name: "phonebook", Exec: appBin, Port: 8080, Health: "/healthz"}},
		}
	}
	offline = map[string]role.Role{"riak-1": riak("10.0.0.99-mock"), "web-1": web(mockHash)}
	deployedRoles = map[string]role.Role{"riak-1": riak(deployedIP), "web-1": web(builtHash)}
	return offline, deployedRoles
}

// cannedExport is a stack export as the Automation API gives it: riak-1
// an AWS instance (inputs.userData), web-1 a GCE instance whose metadata
// is a secret shown in plaintext, and a resource of another type.
func cannedExport(t *testing.T, roles map[string]role.Role) []byte {
	t.Helper()
	render := func(m, platform string) string {
		opt := cloudinit.Options{Platform: platform, SecretIDs: map[string]string{"riak-cookie": "/p/s/riak-cookie"}, Region: "eu-west-1"}
		ud, err := cloudinit.Render(roles[m], opt)
		if err != nil {
			t.Fatal(err)
		}
		return ud
	}
	md, err := json.Marshal(map[string]any{"user-data": render("web-1", "gcp"), "enable-oslogin": "FALSE"})
	if err != nil {
		t.Fatal(err)
	}
	dep := map[string]any{"resources": []any{
		map[string]any{"urn": "urn:pulumi:aws-test::cloudlabs::pulumi:pulumi:Stack::cloudlabs-aws-test", "type": "pulumi:pulumi:Stack"},
		map[string]any{"urn": "urn:pulumi:aws-test::cloudlabs::aws:ec2/instance:Instance::riak-1", "type": awsInstanceType,
			"inputs": map[string]any{"userData": render("riak-1", "aws"), "instanceType": "t3.small"}},
		map[string]any{"urn": "urn:pulumi:aws-test::cloudlabs::gcp:compute/instance:Instance::web-1", "type": gcpInstanceType,
			"inputs": map[string]any{"metadata": map[string]any{secretSig: "1b47061264138c4ac30d75fd1eb44270", "plaintext": string(md)}}},
	}}
	b, err := json.Marshal(dep)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// holding is what a machine holds when it runs its deployed role.
func holding(r role.Role) map[string]string {
	files := map[string]string{}
	for _, f := range r.Files {
		files[f.Path] = f.Content
	}
	return files
}

// runFileChecks runs the file and download checks of ms the way verify
// builds them on a cloud, by check ID.
func runFileChecks(t *testing.T, tg *target, ms []verify.Machine) (map[string]verify.Result, []string) {
	t.Helper()
	cs, notes := tg.machineChecks(ms)
	var keep []verify.Check
	for _, c := range cs {
		if strings.HasPrefix(c.Name, "file:") || strings.HasPrefix(c.Name, "download:") {
			keep = append(keep, c)
		}
	}
	out := map[string]verify.Result{}
	for _, r := range (verify.Runner{Timeout: 5 * time.Second}).Run(context.Background(), keep) {
		out[r.ID()] = r
	}
	return out, notes
}

// TestVerifyCloudFilesFromDeployedUserData: on a cloud, a file whose
// content depends on another resource's output (riak-1's address) is
// checked against the user data the stack deployed, not the offline
// rerun's mock: OK when the machine holds the deployed content, CRITICAL
// naming both hashes when it holds anything else. Downloads expect the
// deployed hash; secret files have no check.
func TestVerifyCloudFilesFromDeployedUserData(t *testing.T) {
	offline, deployedRoles := cannedRoles()
	tg := &target{name: "aws-test", platform: "aws", deployed: readDeployed(cannedExport(t, deployedRoles))}
	machines := func(riakFiles map[string]string) []verify.Machine {
		webFiles := holding(deployedRoles["web-1"])
		webFiles[appBin] = "password" // its sha256 is builtHash
		return []verify.Machine{
			{Name: "riak-1", Role: offline["riak-1"], Transport: fakeMachine{riakFiles}},
			{Name: "web-1", Role: offline["web-1"], Transport: fakeMachine{webFiles}},
		}
	}

	rs, notes := runFileChecks(t, tg, machines(holding(deployedRoles["riak-1"])))
	if len(notes) != 0 {
		t.Errorf("notes %v, want none", notes)
	}
	want := []string{"riak-1/file:" + riakConf, "riak-1/file:/usr/local/sbin/riak-join", "web-1/file:" + upstreams, "web-1/download:phonebook"}
	if len(rs) != len(want) {
		t.Errorf("checks %v, want %v (and no check of the secret file)", rs, want)
	}
	for _, id := range want {
		r, ok := rs[id]
		if !ok || r.Status != verify.OK {
			t.Errorf("%s: %+v, want OK: the machine holds what was deployed", id, r)
		}
	}

	edited := holding(deployedRoles["riak-1"])
	edited[riakConf] = strings.Replace(edited[riakConf], deployedIP, "10.0.1.99", 1)
	rs, _ = runFileChecks(t, tg, machines(edited))
	r := rs["riak-1/file:"+riakConf]
	depSum, editSum, mockSum := sum256(deployedRoles["riak-1"].Files[0].Content), sum256(edited[riakConf]), sum256(offline["riak-1"].Files[0].Content)
	if r.Status != verify.Critical || !strings.Contains(r.Expected, depSum) || !strings.Contains(r.Found, editSum) || strings.Contains(r.Expected, mockSum) {
		t.Errorf("hand-edited riak.conf: %+v\nwant CRITICAL expecting the deployed %s, finding %s (the offline mock is %s)", r, depSum, editSum, mockSum)
	}
	if r := rs["riak-1/file:/usr/local/sbin/riak-join"]; r.Status != verify.OK {
		t.Errorf("untouched riak-join: %+v, want OK", r)
	}
}

// TestVerifyCloudUserDataUnreadable: a machine whose deployed user data
// cannot be read (no instance in the state, an encrypted secret, no
// #cloud-config, no export at all) has its file checks UNKNOWN, saying
// why; its other checks still run.
func TestVerifyCloudUserDataUnreadable(t *testing.T) {
	offline, deployedRoles := cannedRoles()
	exp := cannedExport(t, deployedRoles)
	broken := strings.Replace(string(exp), `"plaintext":`, `"ciphertext":`, 1)
	notCloudConfig := strings.Replace(string(exp), `"userData":"#cloud-config`, `"userData":"#!/bin/sh`, 1)
	for name, tc := range map[string]struct {
		d       deployed
		machine string
		reason  string
	}{
		"absent":      {readDeployed(exp), "cache-1", "holds no instance named cache-1"},
		"encrypted":   {readDeployed([]byte(broken)), "web-1", "encrypted"},
		"not parsed":  {readDeployed([]byte(notCloudConfig)), "riak-1", "not a #cloud-config"},
		"no export":   {deployed{err: fmt.Errorf("export the stack's state: boom")}, "riak-1", "boom"},
		"not json":    {readDeployed([]byte("{")), "riak-1", "stack state"},
		"gcp no meta": {readDeployed([]byte(`{"resources":[{"urn":"a::web-1","type":"` + gcpInstanceType + `","inputs":{}}]}`)), "web-1", "empty"},
	} {
		t.Run(name, func(t *testing.T) {
			r := offline["riak-1"]
			if tc.machine == "web-1" {
				r = offline["web-1"]
			}
			tg := &target{name: "aws-test", platform: "aws", deployed: tc.d}
			m := verify.Machine{Name: tc.machine, Role: r, Transport: fakeMachine{holding(deployedRoles["riak-1"])}}
			cs, _ := tg.machineChecks([]verify.Machine{m})
			files := 0
			for _, c := range cs {
				if !strings.HasPrefix(c.Name, "file:") {
					continue
				}
				files++
				o := c.Probe(context.Background())
				if o.Status != verify.Unknown || !strings.Contains(o.Found, tc.reason) {
					t.Errorf("%s: %+v, want UNKNOWN saying %q", c.ID(), o, tc.reason)
				}
			}
			if files != len(r.Files) {
				t.Errorf("%d file checks, want one per file of the offline role (%d)", files, len(r.Files))
			}
			if len(cs) <= files {
				t.Errorf("only the file checks remain: %d checks", len(cs))
			}
		})
	}
}

// TestVerifyCloudNotesFilesNotDeployed: a file the program declares now
// that the deployed user data does not write is named in a note.
func TestVerifyCloudNotesFilesNotDeployed(t *testing.T) {
	offline, deployedRoles := cannedRoles()
	tg := &target{name: "aws-test", platform: "aws", deployed: readDeployed(cannedExport(t, deployedRoles))}
	r := offline["web-1"]
	r.Files = append(r.Files, role.File{Path: "/etc/cloudlabs/new.conf", Content: "x\n", Mode: "0644"})
	_, notes := tg.machineChecks([]verify.Machine{{Name: "web-1", Role: r, Transport: fakeMachine{}}})
	if len(notes) != 1 || !strings.Contains(notes[0], "/etc/cloudlabs/new.conf") {
		t.Errorf("notes %v, want one naming /etc/cloudlabs/new.conf", notes)
	}
}
