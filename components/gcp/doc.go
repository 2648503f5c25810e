// Package gcp realizes the platform on Google Cloud: one VPC network and
// subnet per stack, a firewall rule per Allow, a private GCS bucket for
// artifacts, and Compute Engine instances booting their role from cloud-init
// user data under a service account that can read only that bucket.
//
// The picture, per stack:
//
//	network (custom mode) ── subnet 10.42.1.0/24 in Region, Private Google Access
//	  firewall: one rule per Allow (TCP, exact ports, target tag ← source tag or CIDRs)
//	            + "ssh" (22 from Settings.SSHAllowCIDR) only when SSH is configured
//	  instances: tag = group, ephemeral public IP (static compute.Address when Public)
//	bucket (uniform access, public access prevention enforced)
//	  artifacts/<name>-<sha256[:12]>   app binaries (Publish)
//	  dynamic/<machine>/<file>          files that change after boot (MachineArgs.Dynamic)
//	service account (no project roles) ── roles/storage.objectViewer on the bucket only
//
// Why these choices:
//
//   - A custom-mode network (no auto subnets) holds exactly one subnet, so
//     every address in it is one of ours. GCP denies ingress by default and
//     allows egress, so the firewall rules are the whole inbound policy:
//     nothing is reachable that a component did not Allow.
//   - Groups are network tags, not resources: an instance carries its group's
//     tag and a rule targets it (and names it as source for group-to-group
//     traffic). Source tags match only traffic from the instances' private
//     addresses in this network, which is how machines talk to each other.
//   - Every machine has an external address for apt and downloads instead of
//     a Cloud NAT, which would cost more than the lab. The firewall is the
//     barrier. Public machines get a static address so it survives updates.
//   - The instances do not run as the project's default compute service
//     account (which often holds Editor): each stack has its own account with
//     no project-level role, granted objectViewer on the artifact bucket only,
//     and the instances' OAuth scope is devstorage.read_only. The fetch script
//     reads private objects with the metadata server's token for it.
//   - Shielded VM (secure boot, vTPM, integrity monitoring) on every machine
//     whose series offers it. Persistent disks are encrypted at rest by Google
//     by default; Settings.DiskKMSKey switches boot disks to a customer key.
//   - Project-wide SSH keys are blocked and OS Login is off on our instances:
//     the one way in is the stack's own key (cloud-init) from the stack's own
//     CIDR, so project metadata or IAM cannot widen access behind the stack's
//     back. With neither SSH setting, port 22 is closed.
//   - GCE updates metadata in place and cloud-init does not run again, so a
//     stateless machine is replaced when its user data changes (a new binary
//     hash reaches it); a stateful one ignores user-data and image changes and
//     is never replaced by a later up.
package gcp
