package aws

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cloudlabs/cloudlabs/components/platform"
)

// Key prefixes machines may read; nothing else in the bucket is readable
// without the account's credentials.
const (
	ArtifactsPrefix = "artifacts/"
	DynamicPrefix   = "dynamic/"
)

// newBucket creates the stack's private artifact bucket. Machines read it
// anonymously through the VPC's S3 endpoint: the policy grants GetObject
// on the two prefixes only to requests that arrive through that endpoint,
// which S3 counts as non-public (so the public access block stays fully
// on) and which needs no instance role, profile or credentials on the
// machines. Encryption is SSE-S3 (AES256), not KMS: S3 refuses anonymous
// reads of KMS-encrypted objects.
func (p *Platform) newBucket(ctx *pulumi.Context) error {
	b, err := s3.NewBucketV2(ctx, "artifacts", &s3.BucketV2Args{
		BucketPrefix: pulumi.String(bucketPrefix(p.s.Project, p.s.Stack)),
		// A lab's bucket holds only rebuildable binaries: it must never
		// block `destroy`.
		ForceDestroy: pulumi.Bool(true),
		Tags:         p.tags("artifacts"),
	}, p.own()...)
	if err != nil {
		return fmt.Errorf("aws platform: bucket: %w", err)
	}
	p.bucket = b
	pab, err := s3.NewBucketPublicAccessBlock(ctx, "artifacts-public-access", &s3.BucketPublicAccessBlockArgs{
		Bucket:                b.ID(),
		BlockPublicAcls:       pulumi.Bool(true),
		IgnorePublicAcls:      pulumi.Bool(true),
		BlockPublicPolicy:     pulumi.Bool(true),
		RestrictPublicBuckets: pulumi.Bool(true),
	}, p.own()...)
	if err != nil {
		return fmt.Errorf("aws platform: bucket public access block: %w", err)
	}
	if _, err := s3.NewBucketOwnershipControls(ctx, "artifacts-ownership", &s3.BucketOwnershipControlsArgs{
		Bucket: b.ID(),
		// ACLs off: the policy alone decides who reads.
		Rule: &s3.BucketOwnershipControlsRuleArgs{ObjectOwnership: pulumi.String("BucketOwnerEnforced")},
	}, p.own()...); err != nil {
		return fmt.Errorf("aws platform: bucket ownership: %w", err)
	}
	if _, err := s3.NewBucketServerSideEncryptionConfigurationV2(ctx, "artifacts-encryption", &s3.BucketServerSideEncryptionConfigurationV2Args{
		Bucket: b.ID(),
		Rules: s3.BucketServerSideEncryptionConfigurationV2RuleArray{&s3.BucketServerSideEncryptionConfigurationV2RuleArgs{
			ApplyServerSideEncryptionByDefault: &s3.BucketServerSideEncryptionConfigurationV2RuleApplyServerSideEncryptionByDefaultArgs{
				SseAlgorithm: pulumi.String("AES256"),
			},
		}},
	}, p.own()...); err != nil {
		return fmt.Errorf("aws platform: bucket encryption: %w", err)
	}
	doc := pulumi.All(b.Arn, p.net.endpoint.ID()).ApplyT(func(v []any) (string, error) {
		return bucketPolicy(v[0].(string), string(v[1].(pulumi.ID)))
	}).(pulumi.StringOutput)
	// After the access block: S3 checks a new policy against it, and
	// applying both at once races.
	policy, err := s3.NewBucketPolicy(ctx, "artifacts-policy", &s3.BucketPolicyArgs{
		Bucket: b.ID(),
		Policy: doc,
	}, p.own(pulumi.DependsOn([]pulumi.Resource{pab}))...)
	if err != nil {
		return fmt.Errorf("aws platform: bucket policy: %w", err)
	}
	p.ready = append(p.ready, policy)
	return nil
}

// bucketPolicy lets requests through the endpoint read the machines'
// prefixes, and refuses plain HTTP to anyone.
func bucketPolicy(bucketARN, endpointID string) (string, error) {
	type statement struct {
		Sid       string         `json:"Sid"`
		Effect    string         `json:"Effect"`
		Principal string         `json:"Principal"`
		Action    string         `json:"Action"`
		Resource  []string       `json:"Resource"`
		Condition map[string]any `json:"Condition"`
	}
	doc := struct {
		Version   string      `json:"Version"`
		Statement []statement `json:"Statement"`
	}{"2012-10-17", []statement{
		{
			Sid: "MachinesReadThroughEndpoint", Effect: "Allow", Principal: "*", Action: "s3:GetObject",
			Resource:  []string{bucketARN + "/" + ArtifactsPrefix + "*", bucketARN + "/" + DynamicPrefix + "*"},
			Condition: map[string]any{"StringEquals": map[string]string{"aws:SourceVpce": endpointID}},
		},
		{
			Sid: "DenyPlainHTTP", Effect: "Deny", Principal: "*", Action: "s3:*",
			Resource:  []string{bucketARN, bucketARN + "/*"},
			Condition: map[string]any{"Bool": map[string]string{"aws:SecureTransport": "false"}},
		},
	}}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return "", fmt.Errorf("encode bucket policy: %w", err)
	}
	return string(b), nil
}

// bucketPrefix is the start of the bucket's name (AWS appends a unique
// suffix): lowercase letters, digits and hyphens, at most 37 characters.
func bucketPrefix(project, stack string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(project + "-" + stack) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	s := strings.Trim(b.String(), "-")
	if len(s) > 36 {
		s = strings.TrimRight(s[:36], "-")
	}
	if s == "" {
		s = "cloudlabs"
	}
	return s + "-"
}

// objectURL is where a machine fetches a key: the regional virtual-hosted
// name, which the endpoint's route covers.
func (p *Platform) objectURL(bucket, key string) string {
	return "https://" + bucket + ".s3." + p.region + ".amazonaws.com/" + key
}

// Publish uploads the artifact under a key named by its content hash, so
// a rebuilt identical binary is no diff and a changed one is a new key
// (and a new URL in the roles that use it). The URL is derived from the
// object, so machines are created after the upload.
func (p *Platform) Publish(ctx *pulumi.Context, a platform.Artifact) (pulumi.StringOutput, error) {
	if len(a.SHA256) != 64 {
		return pulumi.StringOutput{}, fmt.Errorf("publish %s: want a hex SHA-256, got %q", a.Name, a.SHA256)
	}
	obj, err := s3.NewBucketObjectv2(ctx, "artifact-"+a.Name, &s3.BucketObjectv2Args{
		Bucket:      p.bucket.Bucket,
		Key:         pulumi.String(ArtifactsPrefix + a.Name + "-" + a.SHA256[:12]),
		Source:      pulumi.NewFileAsset(a.Path),
		ContentType: pulumi.String("application/octet-stream"),
		Tags:        p.tags("artifact-" + a.Name),
	}, p.own()...)
	if err != nil {
		return pulumi.StringOutput{}, fmt.Errorf("publish %s: %w", a.Name, err)
	}
	return pulumi.All(obj.Bucket, obj.Key).ApplyT(func(v []any) string {
		return p.objectURL(v[0].(string), v[1].(string))
	}).(pulumi.StringOutput), nil
}
