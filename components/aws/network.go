package aws

import (
	"fmt"
	"sort"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// The stack's address plan: one /16 of its own, so two stacks in one
// account never share a network, and one public /24 for every machine.
const (
	VPCCIDR    = "10.42.0.0/16"
	SubnetCIDR = "10.42.1.0/24"
)

// network is what New creates before any machine.
type network struct {
	vpc      *ec2.Vpc
	subnet   *ec2.Subnet
	igw      *ec2.InternetGateway
	table    *ec2.RouteTable
	endpoint *ec2.VpcEndpoint
}

// pickZone is the pinned zone, or the region's first zone that needs no
// opt-in (Local and Wavelength zones do, and lack most instance types).
func (p *Platform) pickZone(ctx *pulumi.Context) (string, error) {
	if p.s.Zone != "" {
		if !strings.HasPrefix(p.s.Zone, p.region) {
			return "", fmt.Errorf("aws platform: zone %q is not in region %s", p.s.Zone, p.region)
		}
		return p.s.Zone, nil
	}
	zs, err := aws.GetAvailabilityZones(ctx, &aws.GetAvailabilityZonesArgs{
		State:   pulumi.StringRef("available"),
		Filters: []aws.GetAvailabilityZonesFilter{{Name: "opt-in-status", Values: []string{"opt-in-not-required"}}},
	})
	if err != nil {
		return "", fmt.Errorf("aws platform: availability zones of %s: %w", p.region, err)
	}
	if len(zs.Names) == 0 {
		return "", fmt.Errorf("aws platform: region %s has no available zone", p.region)
	}
	names := append([]string(nil), zs.Names...)
	sort.Strings(names)
	return names[0], nil
}

// newNetwork creates the VPC, its public subnet, the route out through an
// internet gateway and the S3 gateway endpoint. Machines reach the
// internet through their own public addresses: a NAT gateway would cost
// more than the whole lab. The endpoint is free and is what the bucket
// policy trusts.
func (p *Platform) newNetwork(ctx *pulumi.Context) error {
	var err error
	n := &p.net
	n.vpc, err = ec2.NewVpc(ctx, "vpc", &ec2.VpcArgs{
		CidrBlock:          pulumi.String(VPCCIDR),
		EnableDnsSupport:   pulumi.Bool(true),
		EnableDnsHostnames: pulumi.Bool(true),
		Tags:               p.tags("vpc"),
	}, p.own()...)
	if err != nil {
		return fmt.Errorf("aws platform: vpc: %w", err)
	}
	// Adopting the VPC's default security group with no rules closes it:
	// nothing uses it, and its allow-all-from-itself rule is what auditors
	// (CIS AWS 5.4) flag.
	if _, err := ec2.NewDefaultSecurityGroup(ctx, "vpc-default-sg", &ec2.DefaultSecurityGroupArgs{
		VpcId: n.vpc.ID(),
		Tags:  p.tags("default-closed"),
	}, p.own()...); err != nil {
		return fmt.Errorf("aws platform: default security group: %w", err)
	}
	n.subnet, err = ec2.NewSubnet(ctx, "public-subnet", &ec2.SubnetArgs{
		VpcId:            n.vpc.ID(),
		CidrBlock:        pulumi.String(SubnetCIDR),
		AvailabilityZone: pulumi.String(p.zone),
		// Instances ask for their public address explicitly.
		MapPublicIpOnLaunch: pulumi.Bool(false),
		Tags:                p.tags("public"),
	}, p.own()...)
	if err != nil {
		return fmt.Errorf("aws platform: subnet: %w", err)
	}
	n.igw, err = ec2.NewInternetGateway(ctx, "igw", &ec2.InternetGatewayArgs{
		VpcId: n.vpc.ID(),
		Tags:  p.tags("igw"),
	}, p.own()...)
	if err != nil {
		return fmt.Errorf("aws platform: internet gateway: %w", err)
	}
	// Routes are separate resources, not inline: the endpoint adds its own
	// route to this table, and inline routes would fight over it.
	n.table, err = ec2.NewRouteTable(ctx, "public-rt", &ec2.RouteTableArgs{
		VpcId: n.vpc.ID(),
		Tags:  p.tags("public"),
	}, p.own()...)
	if err != nil {
		return fmt.Errorf("aws platform: route table: %w", err)
	}
	route, err := ec2.NewRoute(ctx, "public-rt-internet", &ec2.RouteArgs{
		RouteTableId:         n.table.ID(),
		DestinationCidrBlock: pulumi.String("0.0.0.0/0"),
		GatewayId:            n.igw.ID(),
	}, p.own()...)
	if err != nil {
		return fmt.Errorf("aws platform: internet route: %w", err)
	}
	assoc, err := ec2.NewRouteTableAssociation(ctx, "public-rta", &ec2.RouteTableAssociationArgs{
		SubnetId:     n.subnet.ID(),
		RouteTableId: n.table.ID(),
	}, p.own()...)
	if err != nil {
		return fmt.Errorf("aws platform: route table association: %w", err)
	}
	// The gateway endpoint's route (a prefix list) is more specific than
	// 0.0.0.0/0, so S3 traffic of the region stays inside AWS and carries
	// the endpoint id the bucket policy checks. Its policy stays the
	// default (full access): apt mirrors and downloads hosted on S3 go
	// through it too.
	n.endpoint, err = ec2.NewVpcEndpoint(ctx, "s3-endpoint", &ec2.VpcEndpointArgs{
		VpcId:           n.vpc.ID(),
		ServiceName:     pulumi.String("com.amazonaws." + p.region + ".s3"),
		VpcEndpointType: pulumi.String("Gateway"),
		RouteTableIds:   pulumi.StringArray{n.table.ID()},
		Tags:            p.tags("s3"),
	}, p.own()...)
	if err != nil {
		return fmt.Errorf("aws platform: s3 endpoint: %w", err)
	}
	p.ready = append(p.ready, route, assoc, n.endpoint)
	return nil
}
