/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * fleetnet.h — the ONE definition of every kernel/user layout of the fleetnet datapath.
 *
 * Mirrored in TypeScript by agent/src/kernel/codecs.ts; test/datapath/layout.test.ts compares the
 * sizes and field offsets below with the BTF of the compiled object, so drift fails CI.
 *
 * Conventions (contract for every struct in this file):
 *   - Fixed-width types only, every struct naturally aligned with explicit padding fields
 *     (named pad*, always written as zero by userspace, never read by the program).
 *   - Byte order is stated per field. "host" = the node's CPU order (little-endian on x86/arm64),
 *     "network" = big-endian. Every LPM-trie key is big-endian in ALL its data fields, because the
 *     trie compares bytes in memory order.
 *   - Directions are the POD's point of view: FN_DIR_INGRESS = traffic entering the pod (the program
 *     on the host-side veth's TC egress hook), FN_DIR_EGRESS = traffic leaving the pod (host-side
 *     veth's TC ingress hook).
 *   - Times are nanoseconds of CLOCK_MONOTONIC read at tick resolution (bpf_ktime_get_coarse_ns,
 *     = CLOCK_MONOTONIC_COARSE in user space; 1–4 ms granularity), not wall-clock.
 */
#ifndef FLEETNET_H
#define FLEETNET_H

#include <linux/types.h>

/* ---- Reserved identities (same numbers as Cilium's reserved identities) ----------------------
 * 0 is never an identity of a packet: in the policy map it is the wildcard "any peer".
 * Identities of workloads allocated by the control plane start at FN_ID_FIRST_USER. */
#define FN_ID_ANY            0u   /* policy wildcard only */
#define FN_ID_HOST           1u   /* the local node itself */
#define FN_ID_WORLD          2u   /* anything outside the cluster; also the ipcache miss */
#define FN_ID_UNMANAGED      3u
#define FN_ID_HEALTH         4u
#define FN_ID_INIT           5u
#define FN_ID_REMOTE_NODE    6u
#define FN_ID_KUBE_APISERVER 7u
#define FN_ID_INGRESS        8u
#define FN_ID_WORLD_IPV4     9u
#define FN_ID_WORLD_IPV6     10u
#define FN_ID_FIRST_USER     256u

/* ---- Directions (pod's point of view) --------------------------------------------------------- */
#define FN_DIR_INGRESS 0
#define FN_DIR_EGRESS  1

/* ---- Map sizes (max_entries defaults; the agent may override at first load) ------------------- */
#define FN_MAX_ENDPOINTS 4096
#define FN_MAX_IPCACHE   65536
#define FN_MAX_POLICY    131072
#define FN_MAX_CT        262144
#define FN_MAX_FLOWS     131072

/* ---- endpoints: BPF_MAP_TYPE_HASH, key = __u32 ifindex (host order) of the HOST-side veth ------
 * No entry for an ifindex → the program passes every packet untouched and counts nothing. */
#define FN_EP_DENY_INGRESS  (1u << 0) /* default-deny for traffic entering the pod */
#define FN_EP_DENY_EGRESS   (1u << 1) /* default-deny for traffic leaving the pod */
#define FN_EP_AUDIT_INGRESS (1u << 2) /* ingress drops (policy deny or default deny) only counted */
#define FN_EP_AUDIT_EGRESS  (1u << 3) /* egress drops (policy deny or default deny) only counted */

struct fn_endpoint {
	__u32 identity; /* host order: the pod's local security identity */
	__u32 flags;    /* host order: FN_EP_* bits */
};                      /* size 8 */

/* ---- ipcache: BPF_MAP_TYPE_LPM_TRIE (BPF_F_NO_PREALLOC), IPv4 prefix → identity --------------
 * A packet's peer address not covered by any prefix gets FN_ID_WORLD. Longest prefix wins, so a
 * CIDR "except" is a longer prefix mapped to another identity (e.g. back to FN_ID_WORLD). */
struct fn_ipcache_key {
	__u32 prefixlen; /* host order: 0..32, bits of addr that are significant */
	__u32 addr;      /* network order: IPv4 address */
};                       /* size 8 */

struct fn_ipcache_value {
	__u32 identity; /* host order */
	__u32 pad;
};                      /* size 8 */

/* ---- policy: BPF_MAP_TYPE_LPM_TRIE (BPF_F_NO_PREALLOC) ---------------------------------------
 * Data bits after prefixlen, in order: local_id (32) · peer_id (32) · direction (8) · proto (8) ·
 * dport (16) = 96 bits, all big-endian. Valid prefix lengths:
 *   72       any protocol, any port            (proto = 0, dport = 0)
 *   80       this protocol, any port           (dport = 0)
 *   80 + n   this protocol, dport's first n bits (n = 1..16; n = 16 is one port)
 * Shorter prefixes (wildcarding the identities or the direction) are never written.
 * Peer wildcard is NOT a prefix: it is the separate entry family with peer_id = FN_ID_ANY,
 * looked up as a second key (see the precedence block in policy.c).
 * For ICMP (proto 1) "dport" is the ICMP type (so 80 + 16 entries match one type). */
#define FN_POLICY_PREFIX_ANY_PROTO 72u
#define FN_POLICY_PREFIX_ANY_PORT  80u
#define FN_POLICY_PREFIX_FULL      96u

struct fn_policy_key {
	__u32 prefixlen; /* host order: 72..96 */
	__u32 local_id;  /* network order */
	__u32 peer_id;   /* network order; 0 = any peer */
	__u8 direction;  /* FN_DIR_* */
	__u8 proto;      /* IPPROTO_*; 0 = any (only with prefixlen 72) */
	__u16 dport;     /* network order; destination port (ICMP: type) */
};                       /* size 16 */

#define FN_VERDICT_ALLOW      1 /* forward */
#define FN_VERDICT_DENY       2 /* drop */
#define FN_VERDICT_AUDIT_DENY 3 /* would drop: forward and count as FN_FLOW_AUDIT */

struct fn_policy_value {
	__u32 rule_id; /* host order: opaque attribution id chosen by the compiler; 0 = none */
	__u8 verdict;  /* FN_VERDICT_* */
	__u8 pad[3];
};                     /* size 8 */

/* ---- conntrack: BPF_MAP_TYPE_LRU_HASH --------------------------------------------------------
 * One entry per connection per (host veth, direction) that a policy let through (allow or audit).
 * The tuple is the ORIGINAL direction's (the packet that created it).
 *   - Established: a packet whose own tuple, ifindex and direction have an entry of the CURRENT
 *     generation (fn_config) skips the endpoint, ipcache and policy lookups and is counted with the
 *     entry's local_id / peer_id / rule_id / verdict (removing an endpoint bumps the generation). An entry of an older generation is re-decided by policy (and
 *     refreshed, or deleted if now dropped), so every map change takes effect on the next packet.
 *   - Reply: a packet whose REVERSED tuple, same ifindex and OPPOSITE direction has an entry of the
 *     current generation passes without a policy lookup. The key carries ifindex and direction so
 *     state created by one hook never passes traffic at another (e.g. an unenforced egress hook of
 *     pod A cannot open pod B's ingress).
 * For ICMP, sport = dport = echo identifier; only echo creates and only echo-reply uses entries.
 * Written only by the program; userspace may dump/delete. */
struct fn_ct_key {
	__u32 saddr;    /* network order */
	__u32 daddr;    /* network order */
	__u32 ifindex;  /* host order: host-side veth */
	__u16 sport;    /* network order (ICMP: echo id) */
	__u16 dport;    /* network order (ICMP: echo id) */
	__u8 proto;     /* IPPROTO_TCP / UDP / ICMP */
	__u8 direction; /* FN_DIR_* of the hook that created the entry */
	__u8 pad[2];
};                      /* size 20 */

struct fn_ct_value {
	__u64 last_seen_ns; /* host order; refreshed at most once per FN_CT_REFRESH_NS */
	__u32 rule_id;      /* host order: rule that allowed the connection (0 = no rule) */
	__u32 peer_id;      /* host order: the peer's identity when decided */
	__u32 local_id;     /* host order: the endpoint's identity when decided */
	__u32 generation;   /* host order: fn_config.generation when decided */
	__u8 verdict;       /* FN_FLOW_FORWARDED or FN_FLOW_AUDIT */
	__u8 pad[7];
};                          /* size 32 */

/* ---- config: BPF_MAP_TYPE_ARRAY, 1 entry, key __u32 0 -----------------------------------------
 * generation: bumped by the agent AFTER every batch of writes to endpoints / ipcache / policy;
 * conntrack decisions of an older generation are re-evaluated (see conntrack above). */
struct fn_config {
	__u32 generation; /* host order */
	__u32 pad;
};                        /* size 8 */

/* An entry idle longer than this no longer passes replies (ns). */
#define FN_CT_LIFETIME_TCP_NS   (6ull * 3600 * 1000000000ull)
#define FN_CT_LIFETIME_OTHER_NS (60ull * 1000000000ull)
#define FN_CT_REFRESH_NS        (1000000000ull)

/* ---- flows: BPF_MAP_TYPE_LRU_PERCPU_HASH, read-and-reset by the agent ------------------------
 * Every packet the program sees on a managed endpoint with IPv4 is counted under exactly one key.
 * packets = skbs seen (a GSO super-packet counts once); bytes = skb->len at the TC hook, i.e. the
 * L2 frame from the Ethernet header to the end of the payload (no FCS). */
#define FN_FLOW_FORWARDED 1 /* allowed by a rule or by no default-deny; original direction */
#define FN_FLOW_DROPPED   2 /* dropped: policy deny (rule_id != 0) or default deny (rule_id 0) */
#define FN_FLOW_AUDIT     3 /* would have been dropped, forwarded because of audit */
#define FN_FLOW_REPLY     4 /* reply of a connection allowed in the other direction */

struct fn_flow_key {
	__u32 local_id;  /* host order */
	__u32 peer_id;   /* host order */
	__u32 rule_id;   /* host order: deciding policy entry (0 = default / reply) */
	__u16 dport;     /* host order; for FN_FLOW_REPLY the ORIGINAL dport (= reply's sport) */
	__u8 proto;      /* IPPROTO_*; 0 for non TCP/UDP/ICMP(other protocols use their number) */
	__u8 direction;  /* FN_DIR_* of the hook (pod's view) */
	__u8 verdict;    /* FN_FLOW_* */
	__u8 pad[3];
};                       /* size 20 */

/* Per CPU; userspace sums packets/bytes/flows and takes min(first_seen_ns)/max(last_seen_ns) over
 * the CPUs whose packets != 0. flows: connections created (FORWARDED/AUDIT: conntrack entries
 * created; DROPPED: connection attempts = TCP SYN without ACK, or any non-TCP packet). */
struct fn_flow_value {
	__u64 packets;
	__u64 bytes;
	__u64 flows;
	__u64 first_seen_ns;
	__u64 last_seen_ns;
};                      /* size 40 */

#endif /* FLEETNET_H */
