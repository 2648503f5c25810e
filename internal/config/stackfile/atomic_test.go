package stackfile

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// TestConcurrentSetsNeverLeaveAPartialFile: writers racing on one stack
// file, with a reader reading all along, never show the reader a part of
// a file: every read has every key, and a value one of the writers wrote.
// Afterwards the file keeps its mode and no temporary file is left.
func TestConcurrentSetsNeverLeaveAPartialFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "Pulumi.x.yaml")
	// A long comment makes each write big enough to be seen half done.
	big := sample + "# " + strings.Repeat("padding ", 1<<14) + "\n"
	if err := os.WriteFile(p, []byte(big), 0o600); err != nil {
		t.Fatal(err)
	}
	const writers, writes = 4, 50
	valid := []string{"3"}
	for w := 0; w < writers; w++ {
		for i := 0; i < writes; i++ {
			valid = append(valid, fmt.Sprint(w*writes+i+1))
		}
	}

	stop := make(chan struct{})
	readErrs := make(chan error, 1)
	reads := 0
	go func() {
		defer close(readErrs)
		for {
			select {
			case <-stop:
				return
			default:
			}
			reads++
			if err := checkWhole(p, valid); err != nil {
				readErrs <- err
				return
			}
		}
	}()
	var wg sync.WaitGroup
	writeErrs := make(chan error, writers*writes)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < writes; i++ {
				if err := Set(p, map[string]string{"fibonacci:nodes": fmt.Sprint(w*writes + i + 1)}); err != nil {
					writeErrs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	close(writeErrs)
	for err := range writeErrs {
		t.Errorf("Set: %v", err)
	}
	if err := <-readErrs; err != nil {
		t.Fatalf("a reader saw a broken file after %d reads: %v", reads, err)
	}
	if err := checkWhole(p, valid); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode after the writes: got %v, want the file's 0600", st.Mode().Perm())
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("the folder holds %q, want the stack file alone", names)
	}
}

// checkWhole loads the file and wants every key of sample, with
// fibonacci:nodes one of valid.
func checkWhole(p string, valid []string) error {
	got, err := Load(p)
	if err != nil {
		return err
	}
	for _, k := range []string{"cloudlabs:platform", "cloudlabs:environments", "fibonacci:nodes", "riak:cookie"} {
		if _, ok := got[k]; !ok {
			return fmt.Errorf("%s is missing from %+v", k, got)
		}
	}
	if n := got["fibonacci:nodes"].Value; !slices.Contains(valid, n) {
		return fmt.Errorf("fibonacci:nodes is %q, which no writer wrote", n)
	}
	return nil
}

// TestSetKeepsMode: Set keeps an existing file's permissions, whatever
// they are, and gives a new file 0644.
func TestSetKeepsMode(t *testing.T) {
	for _, mode := range []os.FileMode{0o600, 0o644, 0o640} {
		t.Run(mode.String(), func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "Pulumi.x.yaml")
			if err := os.WriteFile(p, []byte(sample), mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, mode); err != nil { // past the umask
				t.Fatal(err)
			}
			if err := Set(p, map[string]string{"fibonacci:nodes": "5"}); err != nil {
				t.Fatal(err)
			}
			st, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != mode {
				t.Errorf("got %v, want %v", st.Mode().Perm(), mode)
			}
		})
	}
	t.Run("new file", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "Pulumi.new.yaml")
		if err := Set(p, map[string]string{"fibonacci:nodes": "5"}); err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o644 {
			t.Errorf("got %v, want 0644", st.Mode().Perm())
		}
	})
}
