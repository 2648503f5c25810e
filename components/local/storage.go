package local

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cloudlabs/cloudlabs/components/platform"
)

// DataBucket makes the apps' private bucket.
func (p *Platform) DataBucket(ctx *pulumi.Context, name string, args platform.BucketArgs, opts ...pulumi.ResourceOption) (*platform.Bucket, error) {
	return nil, fmt.Errorf("bucket %s: not yet on local", name)
}

// Database makes the apps' PostgreSQL database.
func (p *Platform) Database(ctx *pulumi.Context, name string, args platform.DatabaseArgs, opts ...pulumi.ResourceOption) (*platform.Database, error) {
	return nil, fmt.Errorf("database %s: not yet on local", name)
}
