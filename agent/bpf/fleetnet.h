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
#define FN_MAX_PROXY_NAT 65536  /* connections handed to a proxy at once (LRU) */
#define FN_MAX_PROXY_UPSTREAMS 65536 /* proxies' upstream connections open at once */
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

/* ---- Addresses ------------------------------------------------------------------------------
 * Every address in a key is 16 bytes, network order: IPv6 as is, IPv4 as the IPv4-mapped IPv6
 * address ::ffff:a.b.c.d (RFC 4291 2.5.5.2). So one trie and one conntrack table hold both families,
 * and an IPv4 prefix /n is the 128-bit prefix /(96 + n): no IPv4 prefix ever covers an IPv6 address. */
#define FN_V4_MAPPED_PREFIX 96u

/* ---- ipcache: BPF_MAP_TYPE_LPM_TRIE (BPF_F_NO_PREALLOC), IP prefix → identity ----------------
 * A packet's peer address not covered by any prefix of its own family gets FN_ID_WORLD (IPv4) or
 * FN_ID_WORLD_IPV6 (IPv6). Longest prefix wins, so a CIDR "except" is a longer prefix mapped to another identity. */
struct fn_ipcache_key {
	__u32 prefixlen; /* host order: 0..128 (IPv4: 96 + IPv4 prefix length) */
	__u8 addr[16];   /* network order: IPv6 or IPv4-mapped address */
};                       /* size 20 */

struct fn_ipcache_value {
	__u32 identity; /* host order */
	__u8 family;    /* 4 or 6: the family of the prefix. A lookup that returns an entry of the
			 * other family is a miss (an IPv6 prefix such as ::/0 also covers the
			 * IPv4-mapped block, and must not catch IPv4 packets; nor an IPv4 entry a
			 * v4-mapped IPv6 address on the wire). */
	__u8 flags;     /* FN_IPCACHE_* */
	__u8 pad[2];
	__u32 new_identity; /* host order: with FN_IPCACHE_ZOMBIE, the identity of a packet that would
			     * start a new connection (what the address is without the FQDN name) */
};                      /* size 12 */

/* An address learned from a DNS answer whose TTL has passed while connections still use it (Cilium's
 * "zombie"): connections that exist keep `identity` (also when a policy change re-decides them),
 * a packet that would start a new one gets `new_identity`. */
#define FN_IPCACHE_ZOMBIE (1u << 0)

/* ---- policy: BPF_MAP_TYPE_LPM_TRIE (BPF_F_NO_PREALLOC) ---------------------------------------
 * Data bits after prefixlen, in order: local_id (32) · peer_id (32) · direction (8) · proto (8) ·
 * dport (16) = 96 bits, all big-endian. Valid prefix lengths:
 *   72       any protocol, any port            (proto = 0, dport = 0)
 *   80       this protocol, any port           (dport = 0)
 *   80 + n   this protocol, dport's first n bits (n = 1..16; n = 16 is one port)
 * Shorter prefixes (wildcarding the identities or the direction) are never written.
 * Peer wildcard is NOT a prefix: it is the separate entry family with peer_id = FN_ID_ANY,
 * looked up as a second key (see the precedence block in policy.c).
 * No address family: an entry applies to IPv4 and IPv6 alike. For ICMP (proto 1) and ICMPv6
 * (proto 58) "dport" is the ICMP type (so 80 + 16 entries match one type). */
#define FN_POLICY_PREFIX_ANY_PROTO 72u
#define FN_POLICY_PREFIX_ANY_PORT  80u
#define FN_POLICY_PREFIX_FULL      96u

struct fn_policy_key {
	__u32 prefixlen; /* host order: 72..96 */
	__u32 local_id;  /* network order */
	__u32 peer_id;   /* network order; 0 = any peer */
	__u8 direction;  /* FN_DIR_* */
	__u8 proto;      /* IPPROTO_*; 0 = any (only with prefixlen 72) */
	__u16 dport;     /* network order; destination port (ICMP/ICMPv6: type) */
};                       /* size 16 */

#define FN_VERDICT_ALLOW      1 /* forward */
#define FN_VERDICT_DENY       2 /* drop */
#define FN_VERDICT_AUDIT_DENY 3 /* would drop: forward and count as FN_FLOW_AUDIT */

struct fn_policy_value {
	__u32 rule_id; /* host order: opaque attribution id chosen by the compiler; 0 = none */
	__u8 verdict;  /* FN_VERDICT_* */
	__u8 proxy;    /* FN_PROXY_*: an allowed connection goes to this proxy of the agent (L7 rules) */
	__u8 pad[2];
};                     /* size 8 */

#define FN_PROXY_NONE 0
#define FN_PROXY_DNS  1 /* the agent's DNS proxy: DNS rules (toPorts[].rules.dns) on the port */
#define FN_PROXY_HTTP 2 /* the agent's HTTP proxy: HTTP rules (toPorts[].rules.http) on the port */
#define FN_PROXY_MAX  FN_PROXY_HTTP

/* ---- conntrack: BPF_MAP_TYPE_LRU_HASH --------------------------------------------------------
 * One entry per connection per (host veth, direction) that a policy let through (allow or audit).
 * The tuple is the ORIGINAL direction's (the packet that created it). See policy.c's conntrack
 * block for the rules; in short:
 *   - Original direction: an entry of the CURRENT generation (fn_config) is reused without a policy
 *     lookup; an older one is re-decided by the current policy (refreshed, or deleted if dropped).
 *   - Reply (reversed tuple, same ifindex, OPPOSITE direction) and related ICMP errors pass while
 *     the entry lives, WHATEVER its generation.
 *   - Lifetime by state (fn_config timeouts): SYN_SENT until a reply is seen, ESTABLISHED, CLOSING
 *     once a FIN or RST crossed either way; non-TCP entries are ESTABLISHED with the "other" timeout.
 * For ICMP/ICMPv6, sport = dport = echo identifier; only echo creates and only echo-reply uses entries.
 * Written only by the program; userspace may dump/delete. */
struct fn_ct_key {
	__u8 saddr[16]; /* network order (IPv4-mapped for IPv4) */
	__u8 daddr[16]; /* network order */
	__u32 ifindex;  /* host order: host-side veth */
	__u16 sport;    /* network order (ICMP: echo id) */
	__u16 dport;    /* network order (ICMP: echo id) */
	__u8 proto;     /* IPPROTO_TCP / UDP / ICMP / ICMPV6 */
	__u8 direction; /* FN_DIR_* of the hook that created the entry */
	__u8 pad[2];
};                      /* size 44 */

#define FN_CT_SYN_SENT    1 /* TCP: no reply seen yet */
#define FN_CT_ESTABLISHED 2 /* TCP: a reply was seen; every non-TCP entry */
#define FN_CT_CLOSING     3 /* TCP: FIN or RST seen in either direction (sticky) */

struct fn_ct_value {
	__u64 last_seen_ns; /* host order; refreshed at most once per FN_CT_REFRESH_NS, exactly on
			     * a state change */
	__u32 rule_id;      /* host order: rule that allowed the connection (0 = no rule) */
	__u32 peer_id;      /* host order: the peer's identity when decided */
	__u32 local_id;     /* host order: the endpoint's identity when decided */
	__u32 generation;   /* host order: fn_config.generation when decided */
	__u8 verdict;       /* FN_FLOW_FORWARDED or FN_FLOW_AUDIT */
	__u8 state;         /* FN_CT_* */
	__u8 node_nat;      /* FN_NODE_NAT_*: whether the node's own conntrack translates the connection;
			     * asked once per entry, only when host routing needs it (policy.c) */
	__u8 proxy;         /* FN_PROXY_*: the connection goes to that proxy of the agent (to_proxy) */
	__u8 upstream;      /* FN_CT_UPSTREAM*: a proxy's upstream connection (fn_proxy_upstreams): its replies
			     * go back to the proxy's socket (marked FN_MARK_TO_PROXY), not to the pod it
			     * speaks for */
	__u8 pad[3];
};                          /* size 32 */

#define FN_CT_UPSTREAM         1 /* fn_ct_value.upstream: a proxy's upstream connection */
#define FN_CT_UPSTREAM_DECIDED 2 /* … the ingress proxy's, for a connection it took at this hook: its
				  * packets into the pod are not counted again (the client's were) */

#define FN_NODE_NAT_UNKNOWN 0 /* not asked yet */
#define FN_NODE_NAT_NO      1
#define FN_NODE_NAT_YES     2

/* ---- proxy redirect: BPF_MAP_TYPE_LRU_HASH, (pod address, pod port, protocol) → original destination
 * A connection a policy entry hands to a proxy (fn_policy_value.proxy) leaves the pod addressed to
 * its original destination (a resolver's address, port 53); the pod's egress hook records that
 * destination here and rewrites the packet to the proxy's address and port (fn_config), so the
 * node's stack delivers it to the proxy's ordinary socket. The proxy reads this entry to learn
 * where the pod was going; its answers, sent from the proxy's address and port to the pod, get
 * the original destination back as their source at the pod's ingress hook (to_pod) before any
 * decision, so they are the connection's replies. */
struct fn_proxy_key {
	__u8 addr[16];  /* the pod's address (16-byte form) */
	__u16 port;     /* network order: the pod's source port */
	__u8 proto;     /* IPPROTO_TCP / IPPROTO_UDP */
	__u8 pad;
};                      /* size 20 */

struct fn_proxy_value {
	__u8 addr[16];  /* the original destination address (16-byte form) */
	__u16 port;     /* network order: the original destination port */
	__u8 proxy;     /* FN_PROXY_* */
	__u8 flags;     /* FN_PROXY_F_* */
	__u32 ifindex;  /* host order: the pod's host veth (the client's for egress, the server's for ingress) */
};                      /* size 24 */

/* fn_proxy_value.flags */
#define FN_PROXY_F_INGRESS 1 /* handed over at the server pod's ingress hook (key: the client's address
			      * and port; addr/port: the server pod's): the packets are delivered unchanged
			      * to the proxy's transparent socket (policy.c assign_to_proxy), not rewritten */

/* skb->mark of a packet a pod's ingress hook hands to the proxy: it re-enters the node's stack at the
 * host veth's ingress, where fn_from_pod assigns it to the proxy's socket; the agent's policy route
 * (fwmark FN_MARK_TO_PROXY/FN_MARK_MASK → a table with `local default dev lo`) delivers it locally.
 * A pod cannot set it: the mark is cleared when a packet crosses network namespaces. */
#define FN_MARK_TO_PROXY 0x0e00u
#define FN_MARK_MASK     0x0f00u

/* ---- proxy upstreams: BPF_MAP_TYPE_HASH, (local address, port, IP version, protocol) → whose traffic it carries
 * The agent's proxies send to the original destination from a socket bound before use, transparently
 * to their client's own address (IP_TRANSPARENT; the DNS proxy: one UDP socket per client address; a
 * registration may also name the node's address). Each socket is recorded here with the identity of the
 * client it carries. A pod's ingress hook deciding a new connection from a recorded (address, port)
 * decides it for that identity (the node's address alone would be `host`), and with FN_UPSTREAM_DECIDED does not hand
 * it to the proxy again (the proxy decided it at that ingress); its conntrack entry is marked `upstream`,
 * so the pod's replies go back to the proxy's socket (marked FN_MARK_TO_PROXY at the pod's egress hook)
 * instead of to the client's address. A reply that arrives at the client pod's ingress hook instead (the
 * server is not a managed pod of this node) is found here by its destination and sent to the proxy's
 * socket the same way. The agent removes an entry when the socket closes and clears the map when it
 * loads. */
struct fn_upstream_key {
	__u8 addr[16];    /* the upstream socket's local address (16-byte form): the node's, or — the
			   * HTTP proxy, transparently — its client's */
	__u16 port;       /* network order: the upstream socket's local port */
	__u8 ip_version;  /* 4 or 6 */
	__u8 proto;       /* IPPROTO_TCP (HTTP, DNS over TCP) or IPPROTO_UDP (DNS) */
};                        /* size 20 */

struct fn_upstream_value {
	__u32 identity;   /* host order: the client's identity */
	__u32 flags;      /* host order: FN_UPSTREAM_* */
};                        /* size 8 */

#define FN_UPSTREAM_DECIDED 1 /* decided at the destination's ingress by the proxy: not redirected again */

/* ---- config: BPF_MAP_TYPE_ARRAY, 1 entry, key __u32 0 -----------------------------------------
 * generation: bumped by the agent AFTER every batch of writes to endpoints / ipcache / policy;
 * conntrack decisions of an older generation are re-evaluated in the original direction.
 * Timeouts: milliseconds of idle time after which an entry in that state no longer exists for the
 * program; 0 = the compiled default (Cilium's: SYN 60 s, established 21,600 s, closing 10 s,
 * non-TCP 60 s), so a zeroed entry is a valid configuration. */
#define FN_CFG_LOCALHOST_POLICY (1u << 0) /* host → pod ingress subject to policy (else allowed) */
#define FN_CFG_HOST_ROUTING     (1u << 1) /* same-node pod → pod: decide both ends at the source's hook
					     * and deliver with bpf_redirect_peer (policy.c deliver_local) */

struct fn_config {
	__u32 generation;     /* host order */
	__u32 flags;          /* host order: FN_CFG_* */
	__u32 ct_syn_ms;      /* host order */
	__u32 ct_established_ms;
	__u32 ct_closing_ms;
	__u32 ct_other_ms;
	__u32 flow_slot;      /* host order: 0 = count into fn_flows, 1 = into fn_flows_alt */
	__u16 dns_proxy_port; /* network order: the agent's DNS proxy listens on it at proxy_addr4 /
			       * proxy_addr6; 0 = no proxy: a connection a policy entry redirects to it is
			       * dropped (FN_DROP_NO_PROXY) */
	__u16 http_proxy_port; /* network order: the same for the agent's HTTP proxy */
	__u32 proxy_addr4;    /* network order: the node's IPv4 address the proxies listen on */
	__u32 pad2;
	__u8 proxy_addr6[16]; /* network order: the node's IPv6 address the proxies listen on */
};                            /* size 56 */

#define FN_CT_DEFAULT_SYN_MS         60000u
#define FN_CT_DEFAULT_ESTABLISHED_MS 21600000u
#define FN_CT_DEFAULT_CLOSING_MS     10000u
#define FN_CT_DEFAULT_OTHER_MS       60000u
#define FN_CT_REFRESH_NS             (1000000000ull)

/* ---- flows: two BPF_MAP_TYPE_PERCPU_HASH maps, fn_flows and fn_flows_alt ---------------------
 * Every packet the program sees on a managed endpoint is counted under exactly one key in the map
 * fn_config.flow_slot names, or — when that map is full — in fn_counters (never silently: plain
 * hashes, not LRUs, so nothing is evicted). Exact reads: the agent flips flow_slot, waits for an RCU
 * grace period (membarrier MEMBARRIER_CMD_GLOBAL = synchronize_rcu; TC programs run inside RCU
 * read-side sections), so no program run still writes the other map, then reads and deletes it.
 * packets = skbs seen (a GSO super-packet counts once); bytes = skb->len at the TC hook, i.e. the
 * L2 frame from the Ethernet header to the end of the payload (no FCS). */
#define FN_FLOW_FORWARDED 1 /* allowed by a rule or by no default-deny; original direction */
#define FN_FLOW_DROPPED   2 /* dropped: see drop_reason */
#define FN_FLOW_AUDIT     3 /* would have been dropped, forwarded because of audit */
#define FN_FLOW_REPLY     4 /* reply (or related ICMP error) of a connection allowed the other way */

#define FN_DROP_POLICY          0 /* policy deny (rule_id != 0) or default deny (rule_id 0) */
#define FN_DROP_CT_INSERT       1 /* conntrack entry could not be created */
#define FN_DROP_INVALID_EXTHDR  2 /* IPv6 extension header chain not walked to its end */
#define FN_DROP_UNSUPPORTED_L3  3 /* EtherType other than IPv4, IPv6, ARP */
#define FN_DROP_NO_PROXY        4 /* a policy hands the connection to a proxy the agent does not run,
				   * or a packet of it cannot be handed over (a fragment) */

struct fn_flow_key {
	__u32 local_id;   /* host order */
	__u32 peer_id;    /* host order */
	__u32 rule_id;    /* host order: deciding policy entry (0 = default / reply) */
	__u16 dport;      /* host order; for FN_FLOW_REPLY the ORIGINAL dport (= reply's sport) */
	__u8 proto;       /* IPPROTO_* (of the connection, for related ICMP errors) */
	__u8 direction;   /* FN_DIR_* of the hook (pod's view) */
	__u8 verdict;     /* FN_FLOW_* */
	__u8 ip_version;  /* 4 or 6; 0 for FN_DROP_UNSUPPORTED_L3 */
	__u8 drop_reason; /* FN_DROP_*; 0 unless dropped (or audit) */
	__u8 pad;
};                        /* size 20 */

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

/* ---- counters: BPF_MAP_TYPE_PERCPU_ARRAY, 1 entry, key __u32 0 --------------------------------
 * Cumulative since the map was created, never reset (userspace takes differences, so no increment
 * is lost to a read-and-reset race). What fn_flows could not hold because it was full. */
struct fn_counters {
	__u64 lost_packets;
	__u64 lost_bytes;
	__u64 lost_flows;
};                      /* size 24 */

#endif /* FLEETNET_H */
