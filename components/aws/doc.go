// Package aws realizes the platform seam on Amazon Web Services: each
// machine is an EC2 instance running its role from cloud-init user data,
// in a VPC, firewall and artifact bucket of the stack's own.
//
// One picture of a stack:
//
//	VPC 10.42.0.0/16 (DNS hostnames on; default security group emptied)
//	└── public subnet 10.42.1.0/24, first zone of the region (or Settings.Zone)
//	    route table: 0.0.0.0/0 → internet gateway, S3 prefix list → gateway endpoint
//	    ├── instances: Ubuntu 24.04 LTS, IMDSv2 only, encrypted gp3 root,
//	    │   an ephemeral public address for apt and downloads (no NAT gateway:
//	    │   it would cost more than the whole lab), a security group per group
//	    └── Public instances: plus an Elastic IP that survives replacement
//	S3 bucket (private, SSE-S3, ACLs off, force-destroy)
//	    artifacts/<name>-<sha256[:12]>  app binaries, fetched at boot and hash-checked
//	    dynamic/<machine>/<file>        files polled every 10 s (the LB's upstreams)
//
// The firewall is the barrier. A group is a security group that lets
// everything out and nothing in; Allow adds one TCP ingress rule per source
// (group or CIDR) and port range, and SSH is opened from one CIDR only
// when the stack sets both a CIDR and a key.
//
// Machines read the bucket with no credentials at all: the bucket policy
// allows s3:GetObject on the two prefixes to requests that come through
// the VPC's S3 gateway endpoint (aws:SourceVpce). S3 counts such a policy
// as non-public, so the public access block stays fully on, and no
// instance role or profile exists to be stolen from a machine. That is
// also why encryption is SSE-S3 (AES256): S3 refuses anonymous reads of
// SSE-KMS objects.
//
// Replacement follows the data: stateless instances are replaced when
// their user data changes (userDataReplaceOnChange: a changed user data
// would otherwise stop and start the instance without running again), so
// a new binary hash reaches them and their Elastic IP moves along;
// Stateful instances (Riak) ignore changes of image and user data and
// keep their 20 GiB volume until replaced by hand.
package aws
