package provider

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	p "github.com/pulumi/pulumi-go-provider"

	"github.com/cloudlabs/cloudlabs/internal/machine/role"
	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
)

func TestHostSecrets(t *testing.T) {
	rg := newRig(t)
	dir := filepath.Join(t.TempDir(), "riak")
	removeHost(t, dir)
	bind := testBind()
	cookie := dir + "/etc/riak/cookie"
	// reader names the secret's path in its arguments; bystander does not.
	r := role.Role{
		Name:    "riak",
		Secrets: []role.SecretFile{{Name: "riak-cookie", Path: cookie, Mode: "0600"}},
		Services: []role.Service{
			{Name: "reader", Exec: "/bin/sh", Args: []string{"-c", "exec sleep 300", "sh", cookie}},
			{Name: "bystander", Exec: "/bin/sh", Args: []string{"-c", "exec sleep 300"}},
		},
	}
	h, err := rg.create("cloudlabs:local:Host", "riak", hostArgs(t, dir, bind, r, map[string]string{cookie: "s3cret-v1"}, ""))
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	assertSecretFile(t, cookie, "s3cret-v1")

	t.Run("secret only in the secret output", func(t *testing.T) {
		if v, ok := h.state.GetOk("secrets"); !ok || !v.Secret() {
			t.Fatalf("secrets output %v: want it marked secret", v)
		}
		n := 0
		for k, v := range h.state.All {
			n++
			if k != "secrets" && strings.Contains(v.GoString(), "s3cret") {
				t.Errorf("output %s carries the secret: %s", k, v.GoString())
			}
		}
		if n < 5 {
			t.Fatalf("%d outputs, want the Host's inputs and outputs", n)
		}
	})
	t.Run("changed secret restarts only the service naming it", func(t *testing.T) {
		before := servicePids(h)
		if len(before) != 2 {
			t.Fatalf("services %v, want reader and bystander", before)
		}
		in := hostArgs(t, dir, bind, r, map[string]string{cookie: "s3cret-v2"}, "")
		if d := h.diff(in); d.DetailedDiff["secrets"].Kind != p.Update {
			t.Fatalf("diff %+v, want an in-place update of secrets", d.DetailedDiff)
		}
		if err := h.update(in); err != nil {
			t.Fatalf("Update: %v", err)
		}
		assertSecretFile(t, cookie, "s3cret-v2")
		after := servicePids(h)
		if after["reader"] == before["reader"] || !testkit.ProcessGone(before["reader"]) {
			t.Errorf("reader pid %d, want a new process (old %d)", after["reader"], before["reader"])
		}
		if after["bystander"] != before["bystander"] {
			t.Errorf("bystander pid %d, want unchanged %d", after["bystander"], before["bystander"])
		}
	})
	t.Run("dropped secret is removed", func(t *testing.T) {
		if err := h.update(hostArgs(t, dir, bind, r, map[string]string{}, "")); err != nil {
			t.Fatalf("Update: %v", err)
		}
		if _, err := os.Stat(cookie); !os.IsNotExist(err) {
			t.Fatalf("%s left after its secret was dropped: %v", cookie, err)
		}
	})
	t.Run("delete removes it", func(t *testing.T) {
		if err := h.update(hostArgs(t, dir, bind, r, map[string]string{cookie: "s3cret-v3"}, "")); err != nil {
			t.Fatalf("Update: %v", err)
		}
		assertSecretFile(t, cookie, "s3cret-v3")
		if err := h.delete(); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if _, err := os.Stat(cookie); !os.IsNotExist(err) {
			t.Fatalf("%s left after delete: %v", cookie, err)
		}
	})
}

func assertSecretFile(t *testing.T, path, want string) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatalf("secret file: %v", err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("%s mode %o, want 0600", path, st.Mode().Perm())
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != want {
		t.Errorf("%s holds %q (%v), want %q", path, b, err, want)
	}
}

func servicePids(x *res) map[string]int {
	m := map[string]int{}
	for k, v := range x.state.Get("services").AsMap().All {
		m[k] = int(v.AsNumber())
	}
	return m
}
