package gcp

import (
	"fmt"

	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/secretmanager"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/serviceaccount"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/storage"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// SecretScope is the OAuth scope of machines that read secrets: Secret
// Manager accepts no narrower one. Their account's IAM grants (objectViewer
// on the bucket, secretAccessor on their own secrets) are the limit.
const SecretScope = "https://www.googleapis.com/auth/cloud-platform"

// SecretAccessor is the role a machine's account holds on each of its secrets.
const SecretAccessor = "roles/secretmanager.secretAccessor"

// SecretID is the Secret Manager id of a stack secret: unique per
// (project, stack) in a GCP project shared by several stacks.
func SecretID(project, stack, secret string) string {
	return AccountID(project, stack) + "-" + secret
}

// stackSecret is one secret of the stack and its current version.
type stackSecret struct {
	secret  *secretmanager.Secret
	version *secretmanager.SecretVersion
}

// stackSecret is the secret's Secret Manager entry, created on first use
// with the platform's options: every machine installing it reads this one
// secret. Google encrypts it at rest; the value is a Pulumi secret in state.
func (p *Platform) stackSecret(ctx *pulumi.Context, name string, value pulumi.StringOutput) (stackSecret, error) {
	if s, ok := p.secrets[name]; ok {
		return s, nil
	}
	sec, err := secretmanager.NewSecret(ctx, "secret-"+name, &secretmanager.SecretArgs{
		SecretId:    pulumi.String(SecretID(p.s.Project, p.s.Stack, name)),
		Replication: &secretmanager.SecretReplicationArgs{Auto: &secretmanager.SecretReplicationAutoArgs{}},
		Labels:      p.labels("cloudlabs-secret", name),
	}, p.opts()...)
	if err != nil {
		return stackSecret{}, fmt.Errorf("gcp platform: secret %s: %w", name, err)
	}
	ver, err := secretmanager.NewSecretVersion(ctx, "secret-"+name, &secretmanager.SecretVersionArgs{
		Secret:     sec.ID(),
		SecretData: pulumi.ToSecret(value).(pulumi.StringOutput),
	}, append(p.opts(), pulumi.Parent(sec))...)
	if err != nil {
		return stackSecret{}, fmt.Errorf("gcp platform: secret %s version: %w", name, err)
	}
	if p.secrets == nil {
		p.secrets = map[string]stackSecret{}
	}
	s := stackSecret{secret: sec, version: ver}
	p.secrets[name] = s
	return s, nil
}

// machineAccount gives a machine that installs secrets or controls a
// group a service account of its own: objectViewer on the artifact bucket
// (what the stack's shared account has), secretAccessor on exactly its
// secrets, and (granted by addController) start/stop on the controlled
// group's instances. Other machines keep the shared account, which can
// read no secret and control nothing.
func (p *Platform) machineAccount(ctx *pulumi.Context, machine string, names []string, values map[string]pulumi.StringOutput, controls string, opts []pulumi.ResourceOption) (*serviceaccount.Account, []pulumi.Resource, error) {
	does := "reads the stack's artifact bucket and its own secrets, nothing else."
	if controls != "" {
		does = "reads the stack's artifact bucket and its own secrets, starts and stops the " + controls + " machines, nothing else."
	}
	acct, err := serviceaccount.NewAccount(ctx, machine+"-sa", &serviceaccount.AccountArgs{
		AccountId:   pulumi.String(MachineAccountID(p.s.Project, p.s.Stack, machine)),
		DisplayName: pulumi.Sprintf("cloudlabs %s/%s %s", p.s.Project, p.s.Stack, machine),
		Description: pulumi.String("Runs machine " + machine + "; " + does),
	}, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("machine %s: service account: %w", machine, err)
	}
	member := pulumi.Sprintf("serviceAccount:%s", acct.Email)
	reader, err := storage.NewBucketIAMMember(ctx, machine+"-artifacts-reader", &storage.BucketIAMMemberArgs{
		Bucket: p.bucket.Name,
		Role:   pulumi.String("roles/storage.objectViewer"),
		Member: member,
	}, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("machine %s: artifact bucket grant: %w", machine, err)
	}
	ready := []pulumi.Resource{reader}
	for _, name := range names {
		s, err := p.stackSecret(ctx, name, values[name])
		if err != nil {
			return nil, nil, fmt.Errorf("machine %s: %w", machine, err)
		}
		grant, err := secretmanager.NewSecretIamMember(ctx, machine+"-reads-"+name, &secretmanager.SecretIamMemberArgs{
			SecretId: s.secret.SecretId,
			Role:     pulumi.String(SecretAccessor),
			Member:   member,
		}, opts...)
		if err != nil {
			return nil, nil, fmt.Errorf("machine %s: secret %s grant: %w", machine, name, err)
		}
		ready = append(ready, grant, s.version)
	}
	return acct, ready, nil
}
