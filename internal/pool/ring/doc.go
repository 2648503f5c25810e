// Package ring maps a cache key to the pool node that owns it.
//
// Three schemes sit behind one small interface, [Ring]:
//
//   - "lab": the course lab's scheme. The MD5 of the key picks one of 16
//     equal partitions (its first hex digit); partition p belongs to node
//     p mod n, so two nodes alternate A,B,A,B… and three A,B,C,A,B,C….
//     Simple and readable, but a resize moves far more keys than needed.
//   - "jump": Lamping & Veach's jump consistent hash over the key's 64-bit
//     hash. Growing from n to n+1 nodes moves only 1/(n+1) of the keys, all
//     of them to the new node; nodes are buckets, so only the last node in
//     the list can be removed cheaply.
//   - "rendezvous": highest random weight hashing. Each key goes to the node
//     with the highest score for (key, node name); adding or removing any
//     node moves only that node's share, whatever its position.
//
// Every process that routes keys (gallery app, labctl, the Python front-end
// of the lab) must agree, so the default key hash is MD5, reproducible in
// any language: the first 8 bytes of the digest, big-endian.
//
// [Moved] computes how much of the key space a resize moves, and [Selector]
// plugs a Ring into gomemcache as its memcache.ServerSelector.
package ring
