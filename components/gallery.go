package components

import (
	"fmt"
	"strconv"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cloudlabs/cloudlabs/components/platform"
	"github.com/cloudlabs/cloudlabs/internal/machine/role"
)

// GalleryGroup is the gallery machine's firewall group: the pool admits it
// as a client (NewCachePool's clients).
const GalleryGroup = "gallery"

// GalleryArgs configures the image gallery.
type GalleryArgs struct {
	Binary Binary // apps/gallery
	// Pool is the elastic cache pool the gallery reads through: its
	// manager tells the gallery the members, its database keeps the
	// key-to-object mapping.
	Pool *CachePool
	// Ring is the key-to-node scheme (cachepool:ring).
	Ring string
	// MaxImageMB is the largest image accepted.
	MaxImageMB int
	// HTTPAllowCIDR may reach the gallery on port 80.
	HTTPAllowCIDR string
}

// Gallery is the lab's image front end: images in a private bucket, their
// mapping in the pool's PostgreSQL, reads through the pool.
type Gallery struct {
	pulumi.ResourceState

	URL     pulumi.StringOutput `pulumi:"url"`
	Bucket  *platform.Bucket
	Machine *platform.Machine
}

// NewGallery creates the bucket and the gallery machine.
func NewGallery(ctx *pulumi.Context, name string, p platform.Platform, args *GalleryArgs, opts ...pulumi.ResourceOption) (*Gallery, error) {
	switch {
	case args == nil || args.Pool == nil:
		return nil, fmt.Errorf("gallery %s: it reads through a cache pool: enable cachepool", name)
	case args.MaxImageMB < 1:
		return nil, fmt.Errorf("gallery %s: the largest image must be at least 1 MB", name)
	}
	g := &Gallery{}
	if err := ctx.RegisterComponentResource("cloudlabs:gallery:Gallery", name, g, opts...); err != nil {
		return nil, err
	}
	child := pulumi.Parent(g)
	fail := func(err error) (*Gallery, error) { return nil, fmt.Errorf("gallery %s: %w", name, err) }
	bucket, err := p.DataBucket(ctx, name+"-images", platform.BucketArgs{}, child)
	if err != nil {
		return fail(err)
	}
	g.Bucket = bucket
	pool, db := args.Pool, args.Pool.Database
	l := p.Layout(name)
	envSecret, tokenSecret := name+"-env", name+"-manager-token"
	env := pulumi.Sprintf("PGPASSWORD=%s\n", db.Password)
	if p.Name() != "aws" { // the bucket's own keys; on AWS the instance role
		env = pulumi.Sprintf("PGPASSWORD=%s\nGALLERY_S3_ACCESS_KEY=%s\nGALLERY_S3_SECRET_KEY=%s\n", db.Password, bucket.AccessKey, bucket.SecretKey)
	}
	r := pulumi.All(args.Binary.URL, db.Host, bucket.Name, bucket.Endpoint, bucket.Region, pool.ManagerVM.PrivateIP).ApplyT(func(v []any) (role.Role, error) {
		return GalleryRole(l, GalleryRoleArgs{
			URL: v[0].(string), SHA256: args.Binary.SHA256,
			Database: fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=%s", db.User, v[1], db.Port, db.Name, db.SSLMode),
			Bucket:   v[2].(string), Endpoint: v[3].(string), Region: v[4].(string),
			Manager:    fmt.Sprintf("http://%s", hostPort(v[5].(string), p.Layout(pool.ManagerVM.Name).Port(ManagerPort))),
			Ring:       args.Ring,
			MaxImageMB: args.MaxImageMB,
			EnvSecret:  envSecret, TokenSecret: tokenSecret,
			CreateBucket: l.Local,
		}), nil
	})
	m, err := p.Machine(ctx, name, platform.MachineArgs{
		Group: GalleryGroup, Size: "small", Public: true, Role: platform.RoleOf(r),
		Secrets: map[string]pulumi.StringOutput{envSecret: env, tokenSecret: pool.ManagerToken},
		Buckets: []*platform.Bucket{bucket},
	}, child, pulumi.DependsOn([]pulumi.Resource{pool.ManagerVM.Resource}))
	if err != nil {
		return fail(err)
	}
	g.Machine = m
	g.URL = pulumi.Sprintf("http://%s%s", m.PublicIP, portSuffix(l.Port(HTTPPort)))
	if err := p.Allow(ctx, name+"-http", platform.Rule{To: GalleryGroup, CIDRs: []string{args.HTTPAllowCIDR},
		Ports: []platform.PortRange{platform.Port(HTTPPort)}, Why: "the gallery's pages and the lab's API"}, child); err != nil {
		return fail(err)
	}
	return g, ctx.RegisterResourceOutputs(g, pulumi.Map{"url": g.URL})
}

func portSuffix(port int) string {
	if port == 80 {
		return ""
	}
	return ":" + strconv.Itoa(port)
}

// GalleryRoleArgs are the values the gallery's role is made of.
type GalleryRoleArgs struct {
	URL, SHA256 string
	// Database is the PostgreSQL URL without its password (PGPASSWORD in
	// the environment file).
	Database string
	// Bucket, Endpoint ("" for AWS S3) and Region of the images' bucket.
	Bucket, Endpoint, Region string
	// Manager is the pool manager's base URL.
	Manager    string
	Ring       string
	MaxImageMB int
	// EnvSecret names the environment file's secret (the database
	// password, the bucket's keys); TokenSecret the manager's token.
	EnvSecret, TokenSecret string
	// CreateBucket makes the bucket at start (the twin's gateway starts
	// empty; on clouds the stack makes it).
	CreateBucket bool
}

// Where the gallery keeps its secrets.
const (
	galleryEnvPath   = "/etc/cloudlabs/gallery/env"
	galleryTokenPath = "/etc/cloudlabs/gallery/manager-token"
)

// GalleryRole is the gallery app.
func GalleryRole(l platform.Layout, a GalleryRoleArgs) role.Role {
	o := owner(l)
	args := []string{
		"--listen", hostPort(l.Bind, l.Port(HTTPPort)),
		"--database", a.Database,
		"--bucket", a.Bucket,
		"--s3-region", a.Region,
		"--manager", a.Manager,
		"--manager-token-file", l.Path(galleryTokenPath),
		"--ring", a.Ring,
		"--max-image", strconv.Itoa(a.MaxImageMB << 20),
	}
	if a.Endpoint != "" {
		args = append(args, "--s3-endpoint", a.Endpoint)
	}
	if a.CreateBucket {
		args = append(args, "--create-bucket")
	}
	return role.Role{
		Name:      "gallery",
		Downloads: []role.Download{download(l, "gallery", a.URL, a.SHA256)},
		Secrets: []role.SecretFile{
			{Name: a.EnvSecret, Path: l.Path(galleryEnvPath), Mode: "0600", Owner: o},
			{Name: a.TokenSecret, Path: l.Path(galleryTokenPath), Mode: "0600", Owner: o},
		},
		Services: []role.Service{{
			Name: "gallery", Exec: l.Path(binDir + "gallery"), Args: args, EnvFile: l.Path(galleryEnvPath),
			Port: l.Port(HTTPPort), Health: "/healthz", LimitNOFILE: 65536,
		}},
	}
}
