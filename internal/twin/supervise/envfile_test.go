package supervise

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
)

func TestEnvFileReachesTheService(t *testing.T) {
	dir := t.TempDir()
	env := filepath.Join(dir, "env")
	if err := os.WriteFile(env, []byte("# the gateway's keys\nS3_KEY=k1\n\nS3_SECRET=a b=c$x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "seen")
	s := sh(t, "svc", `printf '%s|%s' "$S3_KEY" "$S3_SECRET" > `+out+"; exec sleep 300")
	s.EnvFile = env
	if _, err := Start(context.Background(), s); err != nil {
		t.Fatalf("Start: %v", err)
	}
	var got string
	testkit.Eventually(t, "environment written", 10*time.Second, func() bool {
		b, _ := os.ReadFile(out)
		got = string(b)
		return got != ""
	})
	if got != "k1|a b=c$x" {
		t.Fatalf("service saw %q, want the file's values as written", got)
	}
}

func TestEnvFileRefused(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{"no equals": "S3_KEY\n", "space in key": "S3 KEY=v\n"} {
		t.Run(name, func(t *testing.T) {
			env := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
			if err := os.WriteFile(env, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			s := sh(t, "svc", "exec sleep 300")
			s.EnvFile = env
			_, err := Start(context.Background(), s)
			if err == nil || !strings.Contains(err.Error(), "line 1: want KEY=value") {
				t.Fatalf("Start: %v, want the bad line named", err)
			}
		})
	}
	t.Run("missing", func(t *testing.T) {
		s := sh(t, "svc", "exec sleep 300")
		s.EnvFile = filepath.Join(dir, "absent")
		if _, err := Start(context.Background(), s); err == nil || !strings.Contains(err.Error(), "environment file") {
			t.Fatalf("Start: %v, want the missing environment file named", err)
		}
	})
}
