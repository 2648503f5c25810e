package provider

import (
	"reflect"
	"testing"

	"github.com/cloudlabs/cloudlabs/internal/machine/role"
)

func TestPlanServices(t *testing.T) {
	const root = "/s/lb"
	nginx := role.Service{Name: "nginx", Exec: "/usr/sbin/nginx", Args: []string{"-c", root + "/etc/nginx/lb.conf", "-g", "daemon off;"}, Port: 80}
	app := role.Service{Name: "app", Exec: root + "/opt/cloudlabs/bin/app", Args: []string{"--store", "bolt://" + root + "/var/lib/app/db", "--conf-dir=" + root + "/etc/app"}, Port: 8080}
	base := role.Role{Name: "lb", Services: []role.Service{nginx, app}}
	reloads := map[string]string{root + "/etc/nginx/upstreams.conf": "nginx"}
	all := func(string) bool { return true }

	moved := app
	moved.Port = 9090
	withMoved := role.Role{Name: "lb", Services: []role.Service{nginx, moved}}
	onlyNginx := role.Role{Name: "lb", Services: []role.Service{nginx}}

	tests := []struct {
		name    string
		old     *role.Role
		new     role.Role
		changed []string
		running func(string) bool
		want    plan
	}{
		{"create starts everything", nil, base, nil, func(string) bool { return false },
			plan{start: []string{"nginx", "app"}}},
		{"nothing changed keeps every process", &base, base, nil, all, plan{}},
		{"dynamic file only reloads", &base, base, []string{root + "/etc/nginx/upstreams.conf"}, all,
			plan{reload: []string{"nginx"}}},
		{"config named in args restarts its service", &base, base, []string{root + "/etc/nginx/lb.conf"}, all,
			plan{restart: []string{"nginx"}}},
		{"file under a folder in args restarts", &base, base, []string{root + "/etc/app/x.yaml"}, all,
			plan{restart: []string{"app"}}},
		{"new binary restarts", &base, base, []string{root + "/opt/cloudlabs/bin/app"}, all,
			plan{restart: []string{"app"}}},
		{"unclaimed file restarts all", &base, base, []string{root + "/etc/other.conf"}, all,
			plan{restart: []string{"nginx", "app"}}},
		{"changed spec restarts", &base, withMoved, nil, all, plan{restart: []string{"app"}}},
		{"removed service stops", &base, onlyNginx, nil, all, plan{stop: []string{"app"}}},
		{"dead service starts", &base, base, nil, func(s string) bool { return s != "app" },
			plan{start: []string{"app"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			changed := map[string]bool{}
			for _, c := range tt.changed {
				changed[c] = true
			}
			got := planServices(tt.old, tt.new, changed, reloads, tt.running)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
