package gcp

import (
	"fmt"

	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/serviceaccount"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/storage"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cloudlabs/cloudlabs/components/platform"
)

// ReadOnlyScope is the instances' only OAuth scope: their token can read
// Cloud Storage and do nothing else, whatever roles the account gains.
const ReadOnlyScope = "https://www.googleapis.com/auth/devstorage.read_only"

// createBucket makes the artifact bucket, the machines' service account and
// the one grant between them.
func (p *Platform) createBucket(ctx *pulumi.Context, opts []pulumi.ResourceOption) error {
	var err error
	// Autonamed (cloudlabs-artifacts-<random>): bucket names are global.
	p.bucket, err = storage.NewBucket(ctx, "cloudlabs-artifacts", &storage.BucketArgs{
		Location: pulumi.String(p.s.Region),
		// IAM only, no object ACLs: the one grant below is the whole policy.
		UniformBucketLevelAccess: pulumi.Bool(true),
		// allUsers / allAuthenticatedUsers can never be granted, by mistake
		// or otherwise.
		PublicAccessPrevention: pulumi.String("enforced"),
		// The bucket holds only rebuildable objects: destroy empties it.
		ForceDestroy: pulumi.Bool(true),
		// Replaced binaries need no 7-day soft-delete copies to pay for.
		SoftDeletePolicy: &storage.BucketSoftDeletePolicyArgs{RetentionDurationSeconds: pulumi.Int(0)},
		Labels:           p.labels(),
	}, opts...)
	if err != nil {
		return fmt.Errorf("gcp artifact bucket: %w", err)
	}
	p.account, err = serviceaccount.NewAccount(ctx, "cloudlabs-machines", &serviceaccount.AccountArgs{
		AccountId:   pulumi.String(AccountID(p.s.Project, p.s.Stack)),
		DisplayName: pulumi.Sprintf("cloudlabs %s/%s machines", p.s.Project, p.s.Stack),
		Description: pulumi.String("Runs the stack's instances; reads the stack's artifact bucket and nothing else."),
	}, opts...)
	if err != nil {
		return fmt.Errorf("gcp service account: %w", err)
	}
	p.reader, err = storage.NewBucketIAMMember(ctx, "cloudlabs-artifacts-reader", &storage.BucketIAMMemberArgs{
		Bucket: p.bucket.Name,
		Role:   pulumi.String("roles/storage.objectViewer"),
		Member: pulumi.Sprintf("serviceAccount:%s", p.account.Email),
	}, opts...)
	if err != nil {
		return fmt.Errorf("gcp artifact bucket grant: %w", err)
	}
	return nil
}

// Publish uploads the artifact under a key holding its hash, so a rebuilt
// identical binary is no diff and a changed one is a new object (and a
// new URL in the user data of the machines that fetch it). The URL is
// built from the object's outputs: machines wait for the upload. A new key
// is a new object, so the default create-before-delete holds: the new
// machines come up before the old ones and their binary go away.
func (p *Platform) Publish(ctx *pulumi.Context, a platform.Artifact) (pulumi.StringOutput, error) {
	if len(a.SHA256) < 12 {
		return pulumi.StringOutput{}, fmt.Errorf("publish %s: want a hex SHA-256, got %q", a.Name, a.SHA256)
	}
	obj, err := storage.NewBucketObject(ctx, a.Name+"-artifact", &storage.BucketObjectArgs{
		Bucket:      p.bucket.Name,
		Name:        pulumi.String("artifacts/" + a.Name + "-" + a.SHA256[:12]),
		Source:      pulumi.NewFileAsset(a.Path),
		ContentType: pulumi.String("application/octet-stream"),
	}, append(p.opts(), pulumi.Parent(p.bucket))...)
	if err != nil {
		return pulumi.StringOutput{}, fmt.Errorf("publish %s: %w", a.Name, err)
	}
	return ObjectURL(obj.Bucket, obj.Name), nil
}

// ObjectURL is an object's storage.googleapis.com URL: a plain GET with the
// reading account's bearer token downloads it.
func ObjectURL(bucket, key pulumi.StringInput) pulumi.StringOutput {
	return pulumi.Sprintf("https://storage.googleapis.com/%s/%s", bucket, key)
}
