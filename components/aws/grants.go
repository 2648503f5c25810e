package aws

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cloudlabs/cloudlabs/components/platform"
	"github.com/cloudlabs/cloudlabs/internal/pool/metrics/cwstore"
)

// GroupTag is the instance tag naming a machine's firewall group: the
// condition that limits a controller (MachineArgs.Controls) to the
// instances of one group of one stack.
const GroupTag = "cloudlabs:group"

// Metrics modes a machine may be given.
const (
	MetricsWrite = "write"
	MetricsRead  = "read"
	// MetricsReadWrite is a reader that also publishes (the manager's
	// publish service puts the nodes' statistics into CloudWatch).
	MetricsReadWrite = "readwrite"
)

// grant is one inline policy of a machine's role, beside its secrets.
type grant struct {
	suffix string // the policy's resource name: <machine>-<suffix>
	what   string // for the role's description
	doc    pulumi.StringOutput
}

// machineGrants are the policies MachineArgs asks for beyond secrets:
// object access to data buckets, start/stop of one group's instances,
// and the stack's metrics. Each is its own inline policy, so adding one
// to a machine never rewrites another.
func (p *Platform) machineGrants(ctx *pulumi.Context, name string, args platform.MachineArgs) ([]grant, error) {
	var out []grant
	if len(args.Buckets) > 0 {
		arns := make([]any, len(args.Buckets))
		for i, b := range args.Buckets {
			made, ok := p.dataBuckets[b]
			if !ok || b == nil {
				return nil, fmt.Errorf("machine %s: bucket %d was not made by this platform's DataBucket", name, i+1)
			}
			arns[i] = made.Arn
		}
		doc := pulumi.All(arns...).ApplyT(func(v []any) (string, error) {
			out := make([]string, len(v))
			for i, a := range v {
				out[i] = a.(string)
			}
			return bucketAccessPolicy(out)
		}).(pulumi.StringOutput)
		out = append(out, grant{"buckets", "reads and writes its data buckets", doc})
	}
	if args.Controls != "" {
		if !groupRE.MatchString(args.Controls) {
			return nil, fmt.Errorf("machine %s: controls group %q: want lowercase letters, digits and hyphens", name, args.Controls)
		}
		account, err := p.accountID(ctx)
		if err != nil {
			return nil, fmt.Errorf("machine %s: %w", name, err)
		}
		doc, err := controlPolicy(p.region, account, p.s.Project, p.s.Stack, args.Controls)
		if err != nil {
			return nil, fmt.Errorf("machine %s: %w", name, err)
		}
		out = append(out, grant{"controls", "starts and stops the " + args.Controls + " machines", pulumi.String(doc).ToStringOutput()})
	}
	switch args.Metrics {
	case "":
	case MetricsWrite, MetricsRead, MetricsReadWrite:
		doc, err := metricsPolicy(args.Metrics, cwstore.Namespace(p.s.Stack))
		if err != nil {
			return nil, fmt.Errorf("machine %s: %w", name, err)
		}
		out = append(out, grant{"metrics", args.Metrics + "s the stack's metrics", pulumi.String(doc).ToStringOutput()})
	default:
		return nil, fmt.Errorf("machine %s: metrics %q; allowed: %q, %q, %q or \"\"", name, args.Metrics, MetricsWrite, MetricsRead, MetricsReadWrite)
	}
	return out, nil
}

// accountID is the account the provider deploys to, looked up once.
func (p *Platform) accountID(ctx *pulumi.Context) (string, error) {
	if p.account != "" {
		return p.account, nil
	}
	id, err := aws.GetCallerIdentity(ctx, nil)
	if err != nil {
		return "", fmt.Errorf("aws account: %w", err)
	}
	if id.AccountId == "" {
		return "", fmt.Errorf("aws account: the provider returned no account id")
	}
	p.account = id.AccountId
	return p.account, nil
}

// bucketAccessPolicy allows objects to be read, written and deleted in
// the buckets, and the buckets to be listed: what the gallery does.
func bucketAccessPolicy(bucketARNs []string) (string, error) {
	if len(bucketARNs) == 0 {
		return "", fmt.Errorf("a bucket policy needs at least one bucket")
	}
	arns := slices.Sorted(slices.Values(bucketARNs))
	objects := make([]string, len(arns))
	for i, a := range arns {
		objects[i] = a + "/*"
	}
	return encodePolicy([]policyStatement{
		{Effect: "Allow", Action: []string{"s3:DeleteObject", "s3:GetObject", "s3:PutObject"}, Resource: objects},
		{Effect: "Allow", Action: []string{"s3:ListBucket"}, Resource: arns},
	})
}

// controlPolicy allows starting and stopping the instances of one group
// of this stack, told by their tags, and describing instances (which IAM
// cannot scope to resources). The role has no ec2:CreateTags, so it
// cannot tag another instance into the group.
func controlPolicy(region, account, project, stack, group string) (string, error) {
	if region == "" || account == "" {
		return "", fmt.Errorf("control policy: region %q and account %q: want both", region, account)
	}
	return encodePolicy([]policyStatement{
		{
			Effect: "Allow", Action: []string{"ec2:StartInstances", "ec2:StopInstances"},
			Resource: []string{"arn:aws:ec2:" + region + ":" + account + ":instance/*"},
			Condition: map[string]map[string]string{"StringEquals": {
				"aws:ResourceTag/cloudlabs:project": project,
				"aws:ResourceTag/cloudlabs:stack":   stack,
				"aws:ResourceTag/" + GroupTag:       group,
			}},
		},
		{Effect: "Allow", Action: []string{"ec2:DescribeInstances"}, Resource: []string{"*"}},
	})
}

// metricsPolicy lets a node put metrics into the stack's namespace only,
// or a reader (the manager, the autoscaler) read metrics. CloudWatch
// scopes neither action to a resource; only PutMetricData has a
// namespace condition.
func metricsPolicy(mode, namespace string) (string, error) {
	put := policyStatement{
		Effect: "Allow", Action: []string{"cloudwatch:PutMetricData"}, Resource: []string{"*"},
		Condition: map[string]map[string]string{"StringEquals": {"cloudwatch:namespace": namespace}},
	}
	read := policyStatement{
		Effect: "Allow", Action: []string{"cloudwatch:GetMetricData", "cloudwatch:ListMetrics"}, Resource: []string{"*"},
	}
	switch mode {
	case MetricsWrite:
		return encodePolicy([]policyStatement{put})
	case MetricsRead:
		return encodePolicy([]policyStatement{read})
	case MetricsReadWrite:
		return encodePolicy([]policyStatement{read, put})
	}
	return "", fmt.Errorf("metrics %q; allowed: %q, %q or %q", mode, MetricsWrite, MetricsRead, MetricsReadWrite)
}

func encodePolicy(statements []policyStatement) (string, error) {
	b, err := json.Marshal(policyDocument{Version: "2012-10-17", Statement: statements})
	if err != nil {
		return "", fmt.Errorf("encode policy: %w", err)
	}
	return string(b), nil
}
