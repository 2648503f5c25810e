// Package hostnet makes twin hosts real network hosts: a stack's bridge
// with a private /24 (its "VPC"), one network namespace per host joined to
// it by a veth pair, nftables in each namespace admitting exactly the
// platform's Allow rules, tbf shaping on the host's link, and a sweep that
// removes everything of a stack by name, also after a crash.
//
//	this machine (the stack's internet, 10.x.y.1 on the bridge)
//	   └─ bridge clb<id> 10.x.y.0/24
//	        ├─ clv<…> ══ eth0 10.x.y.17  netns cl-<id>-fib-lb      nft: inet cloudlabs
//	        └─ clv<…> ══ eth0 10.x.y.42  netns cl-<id>-fib-node-0  nft: inet cloudlabs
//
// It speaks netlink itself (vishvananda/netlink, google/nftables) instead
// of running ip and nft: errors come back typed and per call, nothing
// depends on iproute2's or nft's output format, and nft is not even
// installed here. Everything needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN).
package hostnet
