package provider

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
)

// Disk is the cloudlabs:local:Disk resource: the folder a machine keeps its
// durable data in (the role's Data folders), apart from the host folder, as
// a cloud machine's stateful disk is apart from its instance. A Host names
// it in dataDir and so depends on it: replacing the host keeps the disk,
// and destroy deletes the host before the disk. Only deleting the Disk
// deletes the data, and it says which folders it deletes.
type Disk struct{}

// DiskArgs are the inputs.
type DiskArgs struct {
	// Name is the machine's name, for messages.
	Name string `pulumi:"name"`
	// Dir is the disk's folder (absolute). A new Dir moves the data there.
	Dir string `pulumi:"dir"`
}

// DiskState is what the provider records.
type DiskState struct {
	DiskArgs
}

// diskMarker marks a folder as a disk's, so Delete never removes a folder
// the provider did not make.
const diskMarker = ".cloudlabs-disk"

// Annotate sets the token and documents the resource in the schema.
func (d *Disk) Annotate(a infer.Annotator) {
	a.SetToken("local", "Disk")
	a.Describe(d, "The folder a machine of the local twin keeps its durable data in; it outlives replacements of the machine's Host.")
}

func checkDiskDir(args DiskArgs) error {
	if !filepath.IsAbs(args.Dir) || filepath.Clean(args.Dir) == "/" {
		return fmt.Errorf("disk %s: dir %q must be an absolute folder below /", args.Name, args.Dir)
	}
	return nil
}

// Create makes the folder and marks it.
func (Disk) Create(ctx context.Context, req infer.CreateRequest[DiskArgs]) (infer.CreateResponse[DiskState], error) {
	st := DiskState{req.Inputs}
	if err := checkDiskDir(req.Inputs); err != nil {
		return infer.CreateResponse[DiskState]{}, err
	}
	if req.DryRun {
		return infer.CreateResponse[DiskState]{ID: req.Name, Output: st}, nil
	}
	if err := makeDisk(req.Inputs); err != nil {
		return infer.CreateResponse[DiskState]{}, err
	}
	return infer.CreateResponse[DiskState]{ID: req.Name, Output: st}, nil
}

func makeDisk(args DiskArgs) error {
	if err := os.MkdirAll(args.Dir, 0o755); err != nil {
		return fmt.Errorf("disk %s: %w", args.Name, err)
	}
	if err := os.WriteFile(filepath.Join(args.Dir, diskMarker), []byte(args.Name+"\n"), 0o644); err != nil {
		return fmt.Errorf("disk %s: %w", args.Name, err)
	}
	return nil
}

// Diff never replaces a disk: a new folder is a move.
func (Disk) Diff(ctx context.Context, req infer.DiffRequest[DiskArgs, DiskState]) (infer.DiffResponse, error) {
	d := map[string]p.PropertyDiff{}
	if req.State.Name != req.Inputs.Name {
		d["name"] = p.PropertyDiff{Kind: p.Update, InputDiff: true}
	}
	if req.State.Dir != req.Inputs.Dir {
		d["dir"] = p.PropertyDiff{Kind: p.Update, InputDiff: true}
	}
	// A forced replace (--replace) reuses the folder: the old disk must be
	// gone before the new one is made, or its delete would take the new.
	return infer.DiffResponse{HasChanges: len(d) > 0, DetailedDiff: d, DeleteBeforeReplace: true}, nil
}

// Update moves the data to the new folder.
func (Disk) Update(ctx context.Context, req infer.UpdateRequest[DiskArgs, DiskState]) (infer.UpdateResponse[DiskState], error) {
	st := DiskState{req.Inputs}
	if err := checkDiskDir(req.Inputs); err != nil {
		return infer.UpdateResponse[DiskState]{}, err
	}
	if req.DryRun {
		return infer.UpdateResponse[DiskState]{Output: st}, nil
	}
	from, to := filepath.Clean(req.State.Dir), filepath.Clean(req.Inputs.Dir)
	if from != to && isDisk(from) {
		if !emptyDir(to) {
			return infer.UpdateResponse[DiskState]{}, fmt.Errorf("disk %s: cannot move %s to %s: it is not empty", req.Inputs.Name, from, to)
		}
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return infer.UpdateResponse[DiskState]{}, fmt.Errorf("disk %s: %w", req.Inputs.Name, err)
		}
		_ = os.Remove(to) // empty, checked above
		if err := os.Rename(from, to); err != nil {
			return infer.UpdateResponse[DiskState]{}, fmt.Errorf("disk %s: move %s to %s: %w", req.Inputs.Name, from, to, err)
		}
		p.GetLogger(ctx).Infof("disk %s: moved the data from %s to %s", req.Inputs.Name, from, to)
	}
	if err := makeDisk(req.Inputs); err != nil {
		return infer.UpdateResponse[DiskState]{}, err
	}
	return infer.UpdateResponse[DiskState]{Output: st}, nil
}

// Read reports a disk whose folder is gone as deleted.
func (Disk) Read(ctx context.Context, req infer.ReadRequest[DiskArgs, DiskState]) (infer.ReadResponse[DiskArgs, DiskState], error) {
	if !isDisk(req.State.Dir) {
		return infer.ReadResponse[DiskArgs, DiskState]{}, nil
	}
	return infer.ReadResponse[DiskArgs, DiskState]{ID: req.ID, Inputs: req.Inputs, State: req.State}, nil
}

// Delete deletes the data, naming what it deletes: this is the only place
// a machine's durable data goes away.
func (Disk) Delete(ctx context.Context, req infer.DeleteRequest[DiskState]) (infer.DeleteResponse, error) {
	dir := req.State.Dir
	if err := checkDiskDir(req.State.DiskArgs); err != nil {
		return infer.DeleteResponse{}, err
	}
	if !isDisk(dir) {
		return infer.DeleteResponse{}, nil // never made, or already gone
	}
	log := p.GetLogger(ctx)
	if folders, files := dataFolders(dir); files > 0 {
		log.Infof("disk %s: deleting the machine's data, %d files in %s: %s", req.State.Name, files, dir, strings.Join(folders, ", "))
	} else {
		log.Debugf("disk %s: deleting %s (empty)", req.State.Name, dir)
	}
	if err := os.RemoveAll(dir); err != nil {
		return infer.DeleteResponse{}, fmt.Errorf("disk %s: %w", req.State.Name, err)
	}
	return infer.DeleteResponse{}, nil
}

func isDisk(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, diskMarker))
	return err == nil
}
