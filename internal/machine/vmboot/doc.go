// Package vmboot boots a cloud machine's user data in a real virtual machine
// on this computer: a cached Debian base image (mmdebstrap), a NoCloud seed,
// QEMU with user-mode networking, and a server on this computer that stands
// in for the cloud around the guest (the artifact bucket, the instance
// metadata service). It proves that the user data boots (packages, files,
// fetches, units) without a cloud; it knows nothing of Pulumi or stacks.
//
//	labctl boot ──> Image (mmdebstrap, cached by package list)
//	            ──> Seed (user data as rendered, meta-data, vendor-data:
//	                      the boot's SSH keys and the metadata redirect)
//	            ──> Guest (qemu-system-x86_64, 10.0.2.2 = this computer)
//	                  ├─ fetches  ──> Cloud (artifacts, metadata, IMDSv2)
//	                  └─ <── SSH (pinned host key) and forwarded ports
package vmboot
