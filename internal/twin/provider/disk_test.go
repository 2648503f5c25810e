package provider

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi/sdk/v3/go/property"

	"github.com/cloudlabs/cloudlabs/internal/machine/role"
)

// dataRole keeps a database in a Data folder of the host under root.
func dataRole(root string) role.Role {
	return role.Role{
		Name:  "pb",
		Files: []role.File{{Path: root + "/var/lib/app/.keep"}},
		Data:  []string{root + "/var/lib/app"},
	}
}

func diskArgs(dir string) property.Map {
	return property.NewMap(map[string]property.Value{"name": property.New("pb"), "dir": property.New(dir)})
}

// TestDiskKeepsDataAcrossHostReplace: replacing a host (delete, then
// create, as the engine does) keeps the role's Data; deleting the disk, as
// destroy does after the host, deletes it and logs what it deleted.
func TestDiskKeepsDataAcrossHostReplace(t *testing.T) {
	tests := []struct {
		name string
		// movesState gives the replacement a new state folder (and the
		// disk a new folder, an update); otherwise only the address changes.
		movesState bool
	}{
		{"new address", false},
		{"new state folder", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log := captureLogs(t)
			rg := newRig(t)
			stack := filepath.Join(t.TempDir(), "local")
			hostDir, diskDir := filepath.Join(stack, "pb"), filepath.Join(stack, "disks", "pb")
			removeHost(t, hostDir)
			disk, err := rg.create("cloudlabs:local:Disk", "pb", diskArgs(diskDir))
			if err != nil {
				t.Fatalf("Create disk: %v", err)
			}
			h, err := rg.create("cloudlabs:local:Host", "pb", hostArgs(t, hostDir, testBind(), dataRole(hostDir), nil, diskDir))
			if err != nil {
				t.Fatalf("Create host: %v", err)
			}
			if err := os.WriteFile(hostDir+"/var/lib/app/contacts.db", []byte("alice"), 0o600); err != nil {
				t.Fatal(err)
			}

			newHostDir, newDiskDir := hostDir, diskDir
			if tt.movesState {
				stack2 := filepath.Join(t.TempDir(), "local")
				newHostDir, newDiskDir = filepath.Join(stack2, "pb"), filepath.Join(stack2, "disks", "pb")
				removeHost(t, newHostDir)
				if d := disk.diff(diskArgs(newDiskDir)); !d.HasChanges || d.DetailedDiff["dir"].Kind != p.Update {
					t.Fatalf("disk diff %+v, want an in-place update (a move), never a replace", d.DetailedDiff)
				}
				if err := disk.update(diskArgs(newDiskDir)); err != nil {
					t.Fatalf("Update disk: %v", err)
				}
			}
			next := hostArgs(t, newHostDir, testBind(), dataRole(newHostDir), nil, newDiskDir)
			if d := h.diff(next); !d.DeleteBeforeReplace || d.DetailedDiff["bind"].Kind != p.UpdateReplace {
				t.Fatalf("host diff %+v, want a delete-before-replace", d)
			}
			if err := h.delete(); err != nil {
				t.Fatalf("Delete (replace): %v", err)
			}
			if _, err := os.Stat(hostDir); !os.IsNotExist(err) {
				t.Fatalf("old host folder left by the replace: %v", err)
			}
			h, err = rg.create("cloudlabs:local:Host", "pb", next)
			if err != nil {
				t.Fatalf("Create (replace): %v", err)
			}
			if b, err := os.ReadFile(newHostDir + "/var/lib/app/contacts.db"); err != nil || string(b) != "alice" {
				t.Fatalf("the replacement host's database holds %q (%v), want the data kept: alice", b, err)
			}

			// Destroy: the host first (it depends on the disk), then the disk.
			if err := h.delete(); err != nil {
				t.Fatalf("Delete host: %v", err)
			}
			if b, err := os.ReadFile(newDiskDir + "/var/lib/app/contacts.db"); err != nil || string(b) != "alice" {
				t.Fatalf("deleting the host alone lost the data: %q %v", b, err)
			}
			if err := disk.delete(); err != nil {
				t.Fatalf("Delete disk: %v", err)
			}
			if _, err := os.Stat(newDiskDir); !os.IsNotExist(err) {
				t.Fatalf("disk folder left after its delete: %v", err)
			}
			if got := log.matching("INFO", "deleting the machine's data", newDiskDir, "var/lib/app"); len(got) != 1 {
				t.Fatalf("want one info line naming the deleted data folder var/lib/app of %s, got %q (all: %q)", newDiskDir, got, log.all())
			}
		})
	}
}

// TestDiskDeleteLeavesUnmarkedFolders: a Disk deletes only a folder it made.
func TestDiskDeleteLeavesUnmarkedFolders(t *testing.T) {
	rg := newRig(t)
	dir := filepath.Join(t.TempDir(), "disk")
	disk, err := rg.create("cloudlabs:local:Disk", "pb", diskArgs(dir))
	if err != nil {
		t.Fatalf("Create disk: %v", err)
	}
	if err := os.Remove(filepath.Join(dir, diskMarker)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "mine"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := disk.delete(); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "mine")); err != nil || !strings.Contains(string(b), "x") {
		t.Fatalf("an unmarked folder's file was deleted: %v", err)
	}
}
