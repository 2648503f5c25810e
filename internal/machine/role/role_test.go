package role

import (
	"strings"
	"testing"
)

func TestValidateEnvFileMustBeTheRolesOwn(t *testing.T) {
	svc := Service{Name: "gallery", Exec: "/opt/cloudlabs/bin/gallery", EnvFile: "/etc/cloudlabs/gallery.env"}
	stray := Role{Name: "gallery", Services: []Service{svc}}
	if err := stray.Validate(); err == nil || !strings.Contains(err.Error(), "envFile /etc/cloudlabs/gallery.env") {
		t.Fatalf("Validate: %v, want the stray environment file named", err)
	}
	secret := Role{Name: "gallery", Services: []Service{svc},
		Secrets: []SecretFile{{Name: "gallery-env", Path: "/etc/cloudlabs/gallery.env", Mode: "0600"}}}
	if err := secret.Validate(); err != nil {
		t.Fatalf("Validate with the file a secret of the role: %v", err)
	}
}
