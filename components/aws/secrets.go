package aws

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ssm"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// ParameterName is where a stack secret lives in Parameter Store:
// /<project>/<stack>/<secret>, one parameter per secret per stack.
func ParameterName(project, stack, secret string) string {
	return "/" + project + "/" + stack + "/" + secret
}

// parameter is the stack secret's SecureString parameter, created on first
// use with the platform's options: every machine installing the secret
// reads this one parameter. It is encrypted with the account's AWS managed
// key for Parameter Store (aws/ssm), whose key policy lets any principal
// of the account decrypt through SSM: who may read is decided by
// ssm:GetParameter alone (see machineIdentity), so no kms:Decrypt grant.
func (p *Platform) parameter(ctx *pulumi.Context, name string, value pulumi.StringOutput) (*ssm.Parameter, error) {
	if prm, ok := p.params[name]; ok {
		return prm, nil
	}
	prm, err := ssm.NewParameter(ctx, "secret-"+name, &ssm.ParameterArgs{
		Name:        pulumi.String(ParameterName(p.s.Project, p.s.Stack, name)),
		Type:        pulumi.String("SecureString"),
		Value:       pulumi.ToSecret(value).(pulumi.StringOutput),
		Description: pulumi.String("cloudlabs " + p.s.Project + "/" + p.s.Stack + " secret " + name + ", read at boot by the machines that install it"),
		Tags:        p.tags("secret-" + name),
	}, p.own()...)
	if err != nil {
		return nil, fmt.Errorf("aws platform: secret %s: %w", name, err)
	}
	if p.params == nil {
		p.params = map[string]*ssm.Parameter{}
	}
	p.params[name] = prm
	return prm, nil
}

// identity is what lets one machine use AWS APIs: read its secrets and
// whatever its grants allow.
type identity struct {
	profile *iam.InstanceProfile
	ready   []pulumi.Resource // the policies and the parameters, before boot
}

// machineIdentity gives a machine that installs secrets or has grants a
// role of its own: ssm:GetParameter on exactly its parameters (policy
// <machine>-secrets), one inline policy per grant, and the instance
// profile that puts the role's credentials on IMDSv2. Machines with
// neither get none: they have no credentials at all.
func (p *Platform) machineIdentity(ctx *pulumi.Context, machine string, params []*ssm.Parameter, grants []grant, opts []pulumi.ResourceOption) (*identity, error) {
	trust, err := json.Marshal(policyDocument{Version: "2012-10-17", Statement: []policyStatement{{
		Effect: "Allow", Action: []string{"sts:AssumeRole"}, Principal: &policyPrincipal{Service: "ec2.amazonaws.com"},
	}}})
	if err != nil {
		return nil, err
	}
	var does []string
	if len(params) > 0 {
		does = append(does, "reads its own secrets")
	}
	for _, g := range grants {
		does = append(does, g.what)
	}
	role, err := iam.NewRole(ctx, machine+"-role", &iam.RoleArgs{
		AssumeRolePolicy: pulumi.String(string(trust)),
		Description:      pulumi.String("cloudlabs " + p.s.Project + "/" + p.s.Stack + " machine " + machine + ": " + strings.Join(does, ", ")),
		Tags:             p.tags(machine + "-role"),
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("machine %s: role: %w", machine, err)
	}
	var ready []pulumi.Resource
	if len(params) > 0 {
		arns := make([]any, len(params))
		for i, prm := range params {
			arns[i] = prm.Arn
		}
		doc := pulumi.All(arns...).ApplyT(func(v []any) (string, error) {
			resources := make([]string, len(v))
			for i, a := range v {
				resources[i] = a.(string)
			}
			return readPolicy(resources)
		}).(pulumi.StringOutput)
		policy, err := iam.NewRolePolicy(ctx, machine+"-secrets", &iam.RolePolicyArgs{
			Role:   role.ID(),
			Policy: doc,
		}, opts...)
		if err != nil {
			return nil, fmt.Errorf("machine %s: secrets policy: %w", machine, err)
		}
		ready = append(ready, policy)
	}
	for _, g := range grants {
		policy, err := iam.NewRolePolicy(ctx, machine+"-"+g.suffix, &iam.RolePolicyArgs{
			Role:   role.ID(),
			Policy: g.doc,
		}, opts...)
		if err != nil {
			return nil, fmt.Errorf("machine %s: %s policy: %w", machine, g.suffix, err)
		}
		ready = append(ready, policy)
	}
	profile, err := iam.NewInstanceProfile(ctx, machine+"-profile", &iam.InstanceProfileArgs{
		Role: role.Name,
		Tags: p.tags(machine + "-profile"),
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("machine %s: instance profile: %w", machine, err)
	}
	ready = append(ready, profile)
	for _, prm := range params {
		ready = append(ready, prm)
	}
	return &identity{profile: profile, ready: ready}, nil
}

type policyDocument struct {
	Version   string            `json:"Version"`
	Statement []policyStatement `json:"Statement"`
}

type policyStatement struct {
	Effect    string                       `json:"Effect"`
	Principal *policyPrincipal             `json:"Principal,omitempty"`
	Action    []string                     `json:"Action"`
	Resource  []string                     `json:"Resource,omitempty"`
	Condition map[string]map[string]string `json:"Condition,omitempty"`
}

type policyPrincipal struct {
	Service string `json:"Service"`
}

// readPolicy allows reading exactly the given parameters.
func readPolicy(parameterARNs []string) (string, error) {
	if len(parameterARNs) == 0 {
		return "", fmt.Errorf("a secrets policy needs at least one parameter")
	}
	b, err := json.Marshal(policyDocument{Version: "2012-10-17", Statement: []policyStatement{{
		Effect: "Allow", Action: []string{"ssm:GetParameter"}, Resource: slices.Sorted(slices.Values(parameterARNs)),
	}}})
	return string(b), err
}
