package vmboot

import (
	"fmt"
	"os/exec"
	"strings"
)

// Tool is a program the boot runs and the Debian package that has it.
type Tool struct{ Bin, Package string }

// Tools are every program a boot needs on this computer.
var Tools = []Tool{
	{"qemu-system-x86_64", "qemu-system-x86"},
	{"qemu-img", "qemu-utils"},
	{"mmdebstrap", "mmdebstrap"},
	{"mkfs.ext4", "e2fsprogs"},
	{"cloud-localds", "cloud-image-utils"},
}

// CheckTools fails naming every missing program and the apt-get line that
// installs them.
func CheckTools() error { return checkTools(Tools, exec.LookPath) }

func checkTools(tools []Tool, look func(string) (string, error)) error {
	var bins, pkgs []string
	for _, t := range tools {
		if _, err := look(t.Bin); err != nil {
			bins = append(bins, t.Bin)
			pkgs = append(pkgs, t.Package)
		}
	}
	if len(bins) == 0 {
		return nil
	}
	return fmt.Errorf("boot needs %s, not found on PATH: apt-get install -y %s", strings.Join(bins, ", "), strings.Join(pkgs, " "))
}
