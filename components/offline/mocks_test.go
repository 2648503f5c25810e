package offline

import (
	"slices"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

type thing struct{ pulumi.CustomResourceState }

type group struct{ pulumi.ResourceState }

// TestOptionsAreRecorded: the options given to a constructor reach the
// recorded resource, and a resource given none records none.
func TestOptionsAreRecorded(t *testing.T) {
	m, err := Run(func(ctx *pulumi.Context) error {
		var plain, careful thing
		if err := ctx.RegisterResource("test:index:Thing", "plain", pulumi.Map{}, &plain); err != nil {
			return err
		}
		return ctx.RegisterResource("test:index:Thing", "careful", pulumi.Map{"a": pulumi.String("x")}, &careful,
			pulumi.IgnoreChanges([]string{"a", "b.c"}), pulumi.ReplaceOnChanges([]string{"d"}),
			pulumi.DeleteBeforeReplace(true), pulumi.Protect(true), pulumi.RetainOnDelete(true))
	}, "p", "s", nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(m.OfType("test:index:Thing")); n != 2 {
		t.Fatalf("recorded %d things, want 2", n)
	}
	careful, ok := m.Named("test:index:Thing", "careful")
	if !ok {
		t.Fatal("careful not recorded")
	}
	o := careful.Options
	if !slices.Equal(o.IgnoreChanges, []string{"a", "b.c"}) || !slices.Equal(o.ReplaceOnChanges, []string{"d"}) ||
		!o.DeleteBeforeReplace || !o.Protect || !o.RetainOnDelete {
		t.Errorf("careful: got options %+v, want ignore [a b.c], replace [d], delete first, protect, retain", o)
	}
	plain, _ := m.Named("test:index:Thing", "plain")
	if p := plain.Options; len(p.IgnoreChanges) != 0 || len(p.ReplaceOnChanges) != 0 || p.DeleteBeforeReplace || p.Protect || p.RetainOnDelete {
		t.Errorf("plain: got options %+v, want none", p)
	}
}

// TestChildOptions: a child of a component records its parent, and what it
// inherits from it (protect), as the engine would receive them.
func TestChildOptions(t *testing.T) {
	m, err := Run(func(ctx *pulumi.Context) error {
		var g group
		if err := ctx.RegisterComponentResource("test:index:Group", "g", &g, pulumi.Protect(true)); err != nil {
			return err
		}
		var child thing
		return ctx.RegisterResource("test:index:Thing", "child", pulumi.Map{}, &child, pulumi.Parent(&g))
	}, "p", "s", nil)
	if err != nil {
		t.Fatal(err)
	}
	child, ok := m.Named("test:index:Thing", "child")
	if !ok {
		t.Fatal("child not recorded")
	}
	if child.Options.Parent == "" || !child.Options.Protect {
		t.Errorf("child: got %+v, want the component as parent and protect inherited", child.Options)
	}
}

func TestIgnoresCoversSubpaths(t *testing.T) {
	o := Options{IgnoreChanges: []string{"metadata", "bootDisk.initializeParams.image"}, ReplaceOnChanges: []string{"userData"}}
	for _, tc := range []struct {
		path          string
		ignored, repl bool
	}{
		{"metadata", true, false},
		{"metadata.user-data", true, false},
		{"metadataStartupScript", false, false},
		{"bootDisk.initializeParams.image", true, false},
		{"bootDisk.initializeParams", false, false},
		{"bootDisk", false, false},
		{"userData", false, true},
		{"userDataBase64", false, false},
	} {
		if got := o.Ignores(tc.path); got != tc.ignored {
			t.Errorf("Ignores(%q) = %t, want %t", tc.path, got, tc.ignored)
		}
		if got := o.Replaces(tc.path); got != tc.repl {
			t.Errorf("Replaces(%q) = %t, want %t", tc.path, got, tc.repl)
		}
	}
	if !(Options{IgnoreChanges: []string{"*"}}).Ignores("anything") {
		t.Error(`"*" does not ignore everything`)
	}
}

func TestPaths(t *testing.T) {
	r := Resource{Inputs: resource.PropertyMap{
		"ami":      resource.NewStringProperty("ami-1"),
		"metadata": resource.NewObjectProperty(resource.PropertyMap{"user-data": resource.MakeSecret(resource.NewStringProperty("#cloud-config\n"))}),
		"disks": resource.NewArrayProperty([]resource.PropertyValue{
			resource.NewObjectProperty(resource.PropertyMap{"image": resource.NewStringProperty("ami-1")}),
		}),
		"other": resource.NewStringProperty("ami-2"),
	}}
	if got, want := r.Paths(func(s string) bool { return s == "ami-1" }), []string{"ami", "disks[0].image"}; !slices.Equal(got, want) {
		t.Errorf("image paths: got %v, want %v", got, want)
	}
	if got, want := r.Paths(func(s string) bool { return len(s) > 0 && s[0] == '#' }), []string{"metadata.user-data"}; !slices.Equal(got, want) {
		t.Errorf("user data paths: got %v, want %v", got, want)
	}
	if got := r.Paths(func(string) bool { return false }); len(got) != 0 {
		t.Errorf("nothing matches, got %v", got)
	}
}
