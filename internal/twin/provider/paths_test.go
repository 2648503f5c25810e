package provider

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/property"

	"github.com/cloudlabs/cloudlabs/internal/machine/role"
)

// TestHostRefusesPathsOutsideItsFolder: whatever names a path outside the
// host folder, the new inputs or an edited or corrupt recorded state, the
// provider refuses before it writes or deletes anything there (it may run
// as root).
func TestHostRefusesPathsOutsideItsFolder(t *testing.T) {
	tests := []struct {
		name string
		// recorded edits the recorded state (nil: the new inputs are bad).
		recorded func(st property.Map, victim string) property.Map
		// inputs edits the new role and secrets.
		inputs func(r *role.Role, secrets map[string]string, victim string)
	}{
		{"recorded file", func(st property.Map, victim string) property.Map {
			return st.Set("role", property.New(roleJSON(t, role.Role{Name: "x", Files: []role.File{{Path: victim, Content: "x"}}})))
		}, nil},
		{"recorded download", func(st property.Map, victim string) property.Map {
			return st.Set("role", property.New(roleJSON(t, role.Role{Name: "x", Downloads: []role.Download{{Name: "d", Path: victim, SHA256: strings.Repeat("0", 64)}}})))
		}, nil},
		{"recorded secret", func(st property.Map, victim string) property.Map {
			return st.Set("secrets", property.New(property.NewMap(map[string]property.Value{victim: property.New("x")})))
		}, nil},
		{"relative escape", func(st property.Map, victim string) property.Map {
			dir := st.Get("stateDir").AsString()
			rel, err := filepath.Rel(dir, victim)
			if err != nil {
				t.Fatal(err)
			}
			return st.Set("role", property.New(roleJSON(t, role.Role{Name: "x", Files: []role.File{{Path: filepath.Join(dir, "etc") + "/../" + rel}}})))
		}, nil},
		{"new secret", nil, func(r *role.Role, secrets map[string]string, victim string) { secrets[victim] = "overwritten" }},
		{"new data folder", nil, func(r *role.Role, secrets map[string]string, victim string) { r.Data = []string{filepath.Dir(victim)} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rg := newRig(t)
			dir := filepath.Join(t.TempDir(), "h")
			removeHost(t, dir)
			victim := filepath.Join(t.TempDir(), "precious")
			if err := os.WriteFile(victim, []byte("precious"), 0o644); err != nil {
				t.Fatal(err)
			}
			bind := testBind()
			base := role.Role{Name: "x", Files: []role.File{{Path: dir + "/etc/motd", Content: "hi"}}}
			h, err := rg.create("cloudlabs:local:Host", "x", hostArgs(t, dir, bind, base, nil, ""))
			if err != nil {
				t.Fatalf("Create: %v", err)
			}
			next, secrets := role.Role{Name: "x"}, map[string]string{}
			if tt.recorded != nil {
				h.state = tt.recorded(h.state, victim)
			} else {
				tt.inputs(&next, secrets, victim)
			}
			err = h.update(hostArgs(t, dir, bind, next, secrets, ""))
			if err == nil || !strings.Contains(err.Error(), "outside the host folder") {
				t.Errorf("Update error %v, want a refusal naming the host folder", err)
			}
			if b, err := os.ReadFile(victim); err != nil || string(b) != "precious" {
				t.Fatalf("%s outside the host folder was touched: %q, %v", victim, b, err)
			}
		})
	}
}

func roleJSON(t *testing.T, r role.Role) string {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
