// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fleetnet policy programs for the host side of each pod's veth: lookup, decide, count.
 *
 *   fn_from_pod — host veth TC/TCX ingress = the pod's EGRESS   (peer = destination address)
 *   fn_to_pod   — host veth TC/TCX egress  = the pod's INGRESS  (peer = source address)
 *
 * IPv4 and IPv6 are policed alike (one policy, family-free keys; addresses as 16 bytes, IPv4-mapped
 * for IPv4). On a policed endpoint: ARP and IPv6 neighbor discovery (ICMPv6 133-137) pass; every
 * other EtherType, and an IPv6 packet whose extension header chain the program cannot walk, is
 * dropped and counted with its drop reason — nothing passes unparsed. Unmanaged veths: untouched.
 * Pass is TC_ACT_UNSPEC (= TCX_NEXT): later programs on the same hook (e.g. the CNI's) still run;
 * with nothing after us the kernel forwards the packet. Drop is TC_ACT_SHOT (= TCX_DROP).
 *
 * Non-first fragments (IPv4 and IPv6) carry no L4 header: they are evaluated with dport 0 (so a
 * port-specific allow does not cover them) and never match conntrack. Known limitation.
 *
 * Layouts of all maps: fleetnet.h.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "fleetnet.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* All maps are pinned by name under the agent's bpffs directory (pin_root_path at open time) and
 * reused as they are when the agent restarts: loading never flushes them. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct fn_endpoint);
	__uint(max_entries, FN_MAX_ENDPOINTS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fn_endpoints SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct fn_ipcache_key);
	__type(value, struct fn_ipcache_value);
	__uint(max_entries, FN_MAX_IPCACHE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fn_ipcache SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct fn_policy_key);
	__type(value, struct fn_policy_value);
	__uint(max_entries, FN_MAX_POLICY);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fn_policy SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct fn_ct_key);
	__type(value, struct fn_ct_value);
	__uint(max_entries, FN_MAX_CT);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fn_ct SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct fn_config);
	__uint(max_entries, 1);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fn_config SEC(".maps");

/* The two flow slots (fn_config.flow_slot picks one) share one definition, so they cannot differ. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__type(key, struct fn_flow_key);
	__type(value, struct fn_flow_value);
	__uint(max_entries, FN_MAX_FLOWS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fn_flows SEC(".maps"), fn_flows_alt SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct fn_counters);
	__uint(max_entries, 1);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fn_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct fn_proxy_key);
	__type(value, struct fn_proxy_value);
	__uint(max_entries, FN_MAX_PROXY_NAT);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fn_proxy_nat SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct fn_upstream_key);
	__type(value, struct fn_upstream_value);
	__uint(max_entries, FN_MAX_PROXY_UPSTREAMS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fn_proxy_upstreams SEC(".maps");


/* Clock of every timestamp the program writes: CLOCK_MONOTONIC at tick resolution (coarse: lags
 * the precise clock by at most one jiffy, 1–4 ms). Measured here: bpf_ktime_get_ns costs ~35 ns
 * per packet per hook, the coarse read almost nothing; flow windows and conntrack lifetimes are
 * seconds. Change this one line for ns resolution. */
#define FN_NOW() bpf_ktime_get_coarse_ns()

#define FN_PASS TC_ACT_UNSPEC
#define FN_DROP TC_ACT_SHOT

#define FN_ICMP_ECHO_REPLY    0
#define FN_ICMP_DEST_UNREACH  3
#define FN_ICMP_ECHO          8
#define FN_ICMP_TIME_EXCEEDED 11
#define FN_ICMP_PARAMPROB     12
#define FN_ICMP6_DEST_UNREACH 1
#define FN_ICMP6_PARAMPROB    4 /* 1..4: unreachable, packet too big, time exceeded, parameter problem */
#define FN_ICMP6_ECHO         128
#define FN_ICMP6_ECHO_REPLY   129
#define FN_ICMP6_NDP_FIRST    133 /* router solicitation .. redirect (133..137) */
#define FN_ICMP6_NDP_LAST     137
#define FN_TCP_FLAG_FIN       0x01
#define FN_TCP_FLAG_SYN       0x02
#define FN_TCP_FLAG_RST       0x04
#define FN_TCP_FLAG_ACK       0x10
#define FN_MAX_EXTHDRS        6 /* IPv6 extension headers walked before giving up (drop) */

#define FN_PARSE_OK           0
#define FN_PARSE_BAD_EXTHDR   2 /* → FN_DROP_INVALID_EXTHDR on a policed endpoint */
#define FN_PARSE_UNSUPPORTED  3 /* → FN_DROP_UNSUPPORTED_L3 on a policed endpoint */

struct fn_pkt {
	__u32 saddr[4];    /* network order; IPv4-mapped for IPv4 */
	__u32 daddr[4];
	__u32 inner_off;   /* ICMP errors: offset of the embedded IP header */
	__u16 sport;       /* network order; ICMP echo/echo-reply: echo id */
	__u16 dport;       /* network order; ICMP echo/echo-reply: echo id */
	__u16 policy_port; /* network order; the port the policy sees (ICMP: type) */
	__u8 proto;
	__u8 tcp_flags;
	__u8 has_ct;       /* 1 if this packet may create / match conntrack */
	__u8 is_echo_reply;
	__u8 is_icmp_error;
	__u8 ip_version;   /* 4 or 6 */
	__u8 is_ndp;       /* ICMPv6 133..137 with hop limit 255 (RFC 4861: never routed) */
	__u8 is_fragment;  /* any fragment (first or not): the node's stack reassembles and NATs them */
	__u8 ttl;          /* IPv4 TTL / IPv6 hop limit */
	__u8 tos;          /* IPv4 only */
	__u16 ip_len;      /* host order: IPv4 total length / IPv6 header + payload length */
	__u16 l4_off;      /* offset of the L4 header when it was read (ports valid), else 0 */
};

struct fn_decision {
	__u32 rule_id;
	__u8 flow_verdict; /* FN_FLOW_FORWARDED / DROPPED / AUDIT */
	__u8 proxy;        /* FN_PROXY_* of the allow entry that decided (0 for anything else) */
};

static __always_inline void map_v4(__u32 *a, __u32 v4)
{
	a[0] = 0;
	a[1] = 0;
	a[2] = bpf_htonl(0xffff);
	a[3] = v4;
}

/* Fills ports / ICMP facts from the first L4 bytes (TCP: 14 bytes, UDP: 4, ICMP: 8 are enough). */
static __always_inline void parse_l4(struct fn_pkt *p, const __u8 *l4, __u32 l4off)
{
	__u8 type = l4[0];

	if (p->proto == IPPROTO_TCP) {
		__builtin_memcpy(&p->sport, &l4[0], 2);
		__builtin_memcpy(&p->dport, &l4[2], 2);
		p->tcp_flags = l4[13];
		p->policy_port = p->dport;
		p->has_ct = 1;
	} else if (p->proto == IPPROTO_UDP) {
		__builtin_memcpy(&p->sport, &l4[0], 2);
		__builtin_memcpy(&p->dport, &l4[2], 2);
		p->policy_port = p->dport;
		p->has_ct = 1;
	} else if (p->proto == IPPROTO_ICMP) { /* type, code, checksum, id, sequence */
		p->policy_port = bpf_htons(type);
		if (type == FN_ICMP_ECHO || type == FN_ICMP_ECHO_REPLY) {
			__builtin_memcpy(&p->sport, &l4[4], 2);
			p->dport = p->sport;
			p->has_ct = 1;
			p->is_echo_reply = type == FN_ICMP_ECHO_REPLY;
		} else if (type == FN_ICMP_DEST_UNREACH || type == FN_ICMP_TIME_EXCEEDED ||
			   type == FN_ICMP_PARAMPROB) {
			p->is_icmp_error = 1;
			p->inner_off = l4off + 8;
		}
	} else if (p->proto == IPPROTO_ICMPV6) {
		p->policy_port = bpf_htons(type);
		if (type == FN_ICMP6_ECHO || type == FN_ICMP6_ECHO_REPLY) {
			__builtin_memcpy(&p->sport, &l4[4], 2);
			p->dport = p->sport;
			p->has_ct = 1;
			p->is_echo_reply = type == FN_ICMP6_ECHO_REPLY;
		} else if (type >= FN_ICMP6_DEST_UNREACH && type <= FN_ICMP6_PARAMPROB) {
			p->is_icmp_error = 1;
			p->inner_off = l4off + 8;
		}
	}
}

#define FN_L4_BYTES 14 /* the most parse_l4 reads (TCP flags at offset 13) */

/* Reads the L4 header at l4off in place when the linear area holds it, else copies it; an L4
 * header shorter than FN_L4_BYTES (or 8 for UDP/ICMP) leaves ports 0 (such packets cannot be valid
 * TCP and are treated as port 0 otherwise). */
static __always_inline void load_l4(struct __sk_buff *skb, struct fn_pkt *p, __u32 l4off)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;

	if (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP && p->proto != IPPROTO_ICMP &&
	    p->proto != IPPROTO_ICMPV6)
		return;
	if (l4off > 0xffff)
		return;
	__u8 *l4 = data + l4off;
	if ((void *)(l4 + FN_L4_BYTES) <= end) {
		parse_l4(p, l4, l4off);
		p->l4_off = l4off;
		return;
	}
	__u8 copy[FN_L4_BYTES] = {};
	__u32 avail = skb->len > l4off ? skb->len - l4off : 0;
	if (avail >= FN_L4_BYTES) {
		if (bpf_skb_load_bytes(skb, l4off, copy, FN_L4_BYTES) < 0)
			return;
	} else if (avail >= 8) { /* UDP (8) and ICMP echo (8) headers of tiny packets */
		if (bpf_skb_load_bytes(skb, l4off, copy, 8) < 0)
			return;
	} else {
		return;
	}
	parse_l4(p, copy, l4off);
	p->l4_off = l4off;
}

static __always_inline int parse_ipv4(struct __sk_buff *skb, struct fn_pkt *p)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct iphdr *iph = data + ETH_HLEN;
	struct iphdr ipcopy;

	if ((void *)(iph + 1) > end) {
		if (bpf_skb_load_bytes(skb, ETH_HLEN, &ipcopy, sizeof(ipcopy)) < 0)
			return FN_PARSE_UNSUPPORTED;
		iph = &ipcopy;
	}
	if (iph->version != 4 || iph->ihl < 5)
		return FN_PARSE_UNSUPPORTED;
	p->ip_version = 4;
	p->ttl = iph->ttl;
	p->tos = iph->tos;
	p->ip_len = bpf_ntohs(iph->tot_len);
	map_v4(p->saddr, iph->saddr);
	map_v4(p->daddr, iph->daddr);
	p->proto = iph->protocol;
	p->is_fragment = (iph->frag_off & bpf_htons(0x3fff)) != 0; /* MF set or an offset */
	if (iph->frag_off & bpf_htons(0x1fff)) /* non-first fragment: no L4 header */
		return FN_PARSE_OK;
	load_l4(skb, p, ETH_HLEN + (iph->ihl & 0xf) * 4);
	return FN_PARSE_OK;
}

/* fe80::/10 (link-local unicast) or ff00::/8 (multicast). */
static __always_inline int is_link_scope(const __u32 *addr)
{
	__u8 b0 = ((const __u8 *)addr)[0], b1 = ((const __u8 *)addr)[1];

	return b0 == 0xff || (b0 == 0xfe && (b1 & 0xc0) == 0x80);
}

static __always_inline int is_ipv6_exthdr(__u8 nh)
{
	return nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING || nh == IPPROTO_FRAGMENT ||
	       nh == IPPROTO_DSTOPTS || nh == IPPROTO_AH;
}

/* Walks hop-by-hop, routing, fragment, destination options and AH headers (at most
 * FN_MAX_EXTHDRS); any other next header is the upper layer (policed by its number). */
static __always_inline int parse_ipv6(struct __sk_buff *skb, struct fn_pkt *p)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ipv6hdr *ip6 = data + ETH_HLEN;
	struct ipv6hdr copy;

	if ((void *)(ip6 + 1) > end) {
		if (bpf_skb_load_bytes(skb, ETH_HLEN, &copy, sizeof(copy)) < 0)
			return FN_PARSE_UNSUPPORTED;
		ip6 = &copy;
	}
	if (ip6->version != 6)
		return FN_PARSE_UNSUPPORTED;
	p->ip_version = 6;
	__u8 hop_limit = ip6->hop_limit;
	p->ttl = hop_limit;
	p->ip_len = bpf_ntohs(ip6->payload_len) + sizeof(struct ipv6hdr);
	__builtin_memcpy(p->saddr, &ip6->saddr, 16);
	__builtin_memcpy(p->daddr, &ip6->daddr, 16);
	__u8 nh = ip6->nexthdr;
	__u32 off = ETH_HLEN + sizeof(struct ipv6hdr);

#pragma unroll
	for (int i = 0; i < FN_MAX_EXTHDRS; i++) {
		if (!is_ipv6_exthdr(nh))
			break;
		__u8 h[8];
		if (bpf_skb_load_bytes(skb, off, h, sizeof(h)) < 0) {
			p->proto = nh;
			return FN_PARSE_BAD_EXTHDR;
		}
		if (nh == IPPROTO_FRAGMENT) {
			off += 8;
			p->is_fragment = 1;
			if ((h[2] << 8 | h[3]) & 0xfff8) { /* non-first fragment: no L4 header */
				p->proto = h[0];
				return FN_PARSE_OK;
			}
		} else if (nh == IPPROTO_AH) {
			off += ((__u32)h[1] + 2) * 4;
		} else {
			off += ((__u32)h[1] + 1) * 8;
		}
		nh = h[0];
	}
	p->proto = nh;
	if (is_ipv6_exthdr(nh) || off > skb->len) /* chain too long, or its last length runs past the end */
		return FN_PARSE_BAD_EXTHDR;
	load_l4(skb, p, off);
	if (nh == IPPROTO_ICMPV6 && hop_limit == 255) {
		__u8 type = bpf_ntohs(p->policy_port);
		p->is_ndp = type >= FN_ICMP6_NDP_FIRST && type <= FN_ICMP6_NDP_LAST;
	}
	return FN_PARSE_OK;
}

static __always_inline __u8 verdict_rank(const struct fn_policy_value *v)
{
	if (!v)
		return 0;
	switch (v->verdict) {
	case FN_VERDICT_DENY:
		return 3;
	case FN_VERDICT_AUDIT_DENY:
		return 2;
	case FN_VERDICT_ALLOW:
		return 1;
	}
	return 0;
}

/*
 * ============================== POLICY PRECEDENCE (the one definition) ==============================
 * Two LPM lookups in fn_policy, both with the full 96-bit key {local, peer, dir, proto, dport}:
 *   E = lookup with peer_id = the packet's peer identity      (peer-specific entries)
 *   W = lookup with peer_id = FN_ID_ANY (0)                    (any-peer entries)
 * Each lookup returns the LONGEST matching prefix of its family (port > protocol > any).
 * Combine E and W by rank, ties going to E (for rule attribution):
 *   DENY (3)  >  AUDIT_DENY (2)  >  ALLOW (1)  >  no match (0)
 * Host rule (Cilium's allow-localhost): with no match, ingress from FN_ID_HOST counts as ALLOW
 * (rule 0) unless fn_config has FN_CFG_LOCALHOST_POLICY. A deny from host still wins.
 * Then, with D = the endpoint's default-deny bit and A = its audit bit for this direction:
 *   best = DENY        → DROPPED (rule of the deny)     — or AUDIT if A (forward, counted)
 *   best = AUDIT_DENY  → AUDIT   (rule of the entry)    — forwarded, counted as would-drop
 *   best = ALLOW       → FORWARDED (rule of the allow)
 *   no match, D set    → DROPPED (rule 0)               — or AUDIT if A
 *   no match, D clear  → FORWARDED (rule 0)
 * Before this decision (conntrack block below): packets of a connection decided under the current
 * generation reuse that decision; replies and related ICMP errors of a live connection pass.
 *
 * What the userspace compiler MUST guarantee (the kernel cannot, an LPM lookup returns one entry):
 *   - Within one family (same local, peer, direction), a longer prefix replaces every shorter one it
 *     overlaps. So where a shorter DENY (e.g. "deny TCP") covers a longer ALLOW ("allow TCP/80"),
 *     the compiler writes the longer key as DENY (deny wins); likewise a longer AUDIT_DENY over a
 *     shorter DENY is written as DENY. In general: each written key's verdict is the maximum rank of
 *     every rule that covers that key's whole block.
 *   - Port ranges are split into prefix-aligned blocks (agent/src/kernel/port-range.ts).
 *   - Deny vs allow ACROSS families (peer-specific vs any-peer) needs nothing: the kernel takes
 *     the maximum rank of E and W.
 * ====================================================================================================
 */
static __always_inline void decide(const struct fn_endpoint *ep, const struct fn_pkt *p, __u32 peer,
				   __u8 dir, __u32 cfg_flags, struct fn_decision *d)
{
	struct fn_policy_key key = {
		.prefixlen = FN_POLICY_PREFIX_FULL,
		.local_id = bpf_htonl(ep->identity),
		.peer_id = bpf_htonl(peer),
		.direction = dir,
		.proto = p->proto,
		.dport = p->policy_port,
	};
	struct fn_policy_value *e = bpf_map_lookup_elem(&fn_policy, &key);
	key.peer_id = 0;
	struct fn_policy_value *w = bpf_map_lookup_elem(&fn_policy, &key);

	struct fn_policy_value *best = verdict_rank(w) > verdict_rank(e) ? w : e;
	__u8 rank = verdict_rank(best);
	__u32 deny_bit = dir == FN_DIR_INGRESS ? FN_EP_DENY_INGRESS : FN_EP_DENY_EGRESS;
	__u32 audit_bit = dir == FN_DIR_INGRESS ? FN_EP_AUDIT_INGRESS : FN_EP_AUDIT_EGRESS;
	__u8 drop = (ep->flags & audit_bit) ? FN_FLOW_AUDIT : FN_FLOW_DROPPED;

	d->rule_id = best ? best->rule_id : 0;
	if (rank == 0 && dir == FN_DIR_INGRESS && peer == FN_ID_HOST && !(cfg_flags & FN_CFG_LOCALHOST_POLICY))
		rank = 1;
	if (rank == 3)
		d->flow_verdict = drop;
	else if (rank == 2)
		d->flow_verdict = FN_FLOW_AUDIT;
	else if (rank == 1)
		d->flow_verdict = FN_FLOW_FORWARDED;
	else
		d->flow_verdict = (ep->flags & deny_bit) ? drop : FN_FLOW_FORWARDED;
	if (rank == 0 || !best)
		d->rule_id = 0;
	/* A connection that goes through (allowed, or audited) is handed to a proxy when an ALLOW entry of
	 * either lookup redirects it — also when an audit-deny outranks that allow (an audit-mode policy
	 * never switches the enforce policy's DNS rules off). */
	d->proxy = FN_PROXY_NONE;
	if (d->flow_verdict != FN_FLOW_DROPPED) {
		if (e && e->verdict == FN_VERDICT_ALLOW && e->proxy != FN_PROXY_NONE)
			d->proxy = e->proxy;
		else if (w && w->verdict == FN_VERDICT_ALLOW && w->proxy != FN_PROXY_NONE)
			d->proxy = w->proxy;
	}
}

/* Adds one packet to `flows`, or to fn_counters when that map is full (never silently lost). */
static __always_inline void count_in(void *flows, struct fn_flow_key *k, __u64 len, __u64 new_flows, __u64 now)
{
	struct fn_flow_value *v = bpf_map_lookup_elem(flows, k);

	if (!v) {
		struct fn_flow_value init = {
			.packets = 1, .bytes = len, .flows = new_flows,
			.first_seen_ns = now, .last_seen_ns = now,
		};
		if (bpf_map_update_elem(flows, k, &init, BPF_NOEXIST) == 0)
			return;
		v = bpf_map_lookup_elem(flows, k); /* lost a race with another packet on this CPU */
		if (!v) { /* the map is full */
			__u32 zero = 0;
			struct fn_counters *c = bpf_map_lookup_elem(&fn_counters, &zero);
			if (c) {
				c->lost_packets += 1;
				c->lost_bytes += len;
				c->lost_flows += new_flows;
			}
			return;
		}
	}
	/* Per-CPU value: no other writer on this CPU while the program runs. */
	if (v->packets == 0)
		v->first_seen_ns = now;
	v->packets += 1;
	v->bytes += len;
	v->flows += new_flows;
	v->last_seen_ns = now;
}

/* Counts one packet in the flow map fn_config.flow_slot names (two call sites, one per map, so the
 * verifier can inline each map's lookup). */
static __always_inline void count_flow(__u32 slot, struct fn_flow_key *k, __u64 len, __u64 new_flows, __u64 now)
{
	if (slot)
		count_in(&fn_flows_alt, k, len, new_flows, now);
	else
		count_in(&fn_flows, k, len, new_flows, now);
}

/*
 * ================================== CONNTRACK (the one definition) ==================================
 * Lifetime: an entry exists for the program while now - last_seen < timeout(state) (fn_config, ms).
 * TCP state machine (either direction's packets move it; CLOSING is sticky):
 *   new entry            → SYN_SENT (CLOSING if the creating packet has FIN or RST)
 *   reply seen           → SYN_SENT becomes ESTABLISHED
 *   FIN or RST, any way  → CLOSING (the closing timeout runs from the last packet)
 *   pure SYN, original   → on a CLOSING entry: a new connection, decided by the current policy
 *   pure SYN, reply way  → never a reply: decided by policy as a new connection the other way
 * Non-TCP entries are ESTABLISHED with the "other" timeout. Expired entries are absent: after a
 * close, the tuple admits only what the current policy allows.
 * Replies and related ICMP errors pass whatever the generation; original-direction packets of an
 * older generation are re-decided (a newly denied connection is cut on its next packet, and its
 * entry deleted, which ends its replies too).
 * ====================================================================================================
 */
static __always_inline __u64 ct_timeout_ns(const struct fn_config *c, __u8 proto, __u8 state)
{
	__u32 ms;

	if (proto != IPPROTO_TCP)
		ms = c->ct_other_ms ? c->ct_other_ms : FN_CT_DEFAULT_OTHER_MS;
	else if (state == FN_CT_SYN_SENT)
		ms = c->ct_syn_ms ? c->ct_syn_ms : FN_CT_DEFAULT_SYN_MS;
	else if (state == FN_CT_CLOSING)
		ms = c->ct_closing_ms ? c->ct_closing_ms : FN_CT_DEFAULT_CLOSING_MS;
	else
		ms = c->ct_established_ms ? c->ct_established_ms : FN_CT_DEFAULT_ESTABLISHED_MS;
	return (__u64)ms * 1000000ull;
}

static __always_inline int ct_alive(const struct fn_ct_value *cv, const struct fn_config *c, __u64 now, __u8 proto)
{
	return cv && now - cv->last_seen_ns < ct_timeout_ns(c, proto, cv->state);
}

static __always_inline int is_pure_syn(const struct fn_pkt *p)
{
	return p->proto == IPPROTO_TCP && (p->tcp_flags & (FN_TCP_FLAG_SYN | FN_TCP_FLAG_ACK)) == FN_TCP_FLAG_SYN;
}

/* Moves the state for a packet of the connection and refreshes last_seen (exactly on a change). */
static __always_inline void ct_touch(struct fn_ct_value *cv, const struct fn_pkt *p, __u64 now, int reply)
{
	__u8 next = cv->state;

	if (p->proto == IPPROTO_TCP) {
		if (p->tcp_flags & (FN_TCP_FLAG_FIN | FN_TCP_FLAG_RST))
			next = FN_CT_CLOSING;
		else if (reply && next == FN_CT_SYN_SENT)
			next = FN_CT_ESTABLISHED;
	}
	if (next != cv->state) {
		cv->state = next;
		cv->last_seen_ns = now;
	} else if (now - cv->last_seen_ns > FN_CT_REFRESH_NS) {
		cv->last_seen_ns = now;
	}
}

static __always_inline __u8 ct_initial_state(const struct fn_pkt *p)
{
	if (p->proto != IPPROTO_TCP)
		return FN_CT_ESTABLISHED;
	return (p->tcp_flags & (FN_TCP_FLAG_FIN | FN_TCP_FLAG_RST)) ? FN_CT_CLOSING : FN_CT_SYN_SENT;
}

static __always_inline __u8 opposite(__u8 dir)
{
	return dir == FN_DIR_INGRESS ? FN_DIR_EGRESS : FN_DIR_INGRESS;
}

/*
 * Related ICMP errors (IPv4 unreachable / time exceeded / parameter problem; ICMPv6 unreachable,
 * packet too big, time exceeded, parameter problem): the embedded header names a packet of a
 * connection. If it is the connection's ORIGINAL direction (entry created at the opposite hook),
 * the error travels back like a reply and is counted as one; if it is the connection's REPLY
 * (entry created at this hook), the error travels the original way and is counted with the
 * entry's verdict and rule. Either way with the connection's protocol and port. Returns 1 if
 * related to a live entry (fills fk), else 0 (the error is policed as plain ICMP).
 */
static __always_inline int ct_related(struct __sk_buff *skb, const struct fn_pkt *p, __u8 dir, __u32 ifindex,
				      const struct fn_config *c, __u64 now, struct fn_flow_key *fk)
{
	struct fn_ct_key k = { .ifindex = ifindex };
	__u32 l4off;
	__u8 l4[8];

	if (p->inner_off > 0xffff)
		return 0;
	if (p->ip_version == 4) {
		struct iphdr ih;
		if (bpf_skb_load_bytes(skb, p->inner_off, &ih, sizeof(ih)) < 0)
			return 0;
		if (ih.version != 4 || ih.ihl < 5 || (ih.frag_off & bpf_htons(0x1fff)))
			return 0;
		map_v4((__u32 *)k.saddr, ih.saddr);
		map_v4((__u32 *)k.daddr, ih.daddr);
		k.proto = ih.protocol;
		l4off = p->inner_off + (ih.ihl & 0xf) * 4;
	} else {
		struct ipv6hdr ih;
		if (bpf_skb_load_bytes(skb, p->inner_off, &ih, sizeof(ih)) < 0)
			return 0;
		if (ih.version != 6)
			return 0;
		__builtin_memcpy(k.saddr, &ih.saddr, 16);
		__builtin_memcpy(k.daddr, &ih.daddr, 16);
		k.proto = ih.nexthdr; /* an embedded extension header chain is not walked: unrelated */
		l4off = p->inner_off + sizeof(struct ipv6hdr);
	}
	if (l4off > 0xffff || bpf_skb_load_bytes(skb, l4off, l4, sizeof(l4)) < 0)
		return 0;
	if (k.proto == IPPROTO_TCP || k.proto == IPPROTO_UDP) {
		__builtin_memcpy(&k.sport, &l4[0], 2);
		__builtin_memcpy(&k.dport, &l4[2], 2);
	} else if ((k.proto == IPPROTO_ICMP && l4[0] == FN_ICMP_ECHO) ||
		   (k.proto == IPPROTO_ICMPV6 && l4[0] == FN_ICMP6_ECHO)) {
		__builtin_memcpy(&k.sport, &l4[4], 2);
		k.dport = k.sport;
	} else {
		return 0;
	}

	/* Embedded = the connection's original direction, created at the opposite hook. */
	k.direction = opposite(dir);
	struct fn_ct_value *v = bpf_map_lookup_elem(&fn_ct, &k);
	if (ct_alive(v, c, now, k.proto)) {
		fk->verdict = FN_FLOW_REPLY;
		fk->dport = bpf_ntohs(k.dport);
		goto related;
	}
	/* Embedded = the connection's reply: reverse it, created at this hook. */
	struct fn_ct_key r = { .ifindex = k.ifindex, .sport = k.dport, .dport = k.sport, .proto = k.proto, .direction = dir };
	__builtin_memcpy(r.saddr, k.daddr, 16);
	__builtin_memcpy(r.daddr, k.saddr, 16);
	v = bpf_map_lookup_elem(&fn_ct, &r);
	if (!ct_alive(v, c, now, k.proto))
		return 0;
	fk->verdict = v->verdict;
	fk->rule_id = v->rule_id;
	fk->dport = bpf_ntohs(r.dport);
related:
	if (k.proto == IPPROTO_ICMP)
		fk->dport = FN_ICMP_ECHO;
	else if (k.proto == IPPROTO_ICMPV6)
		fk->dport = FN_ICMP6_ECHO;
	fk->local_id = v->local_id;
	fk->peer_id = v->peer_id;
	fk->proto = k.proto;
	return 1;
}

/* The peer's identity: the longest ipcache prefix OF THE PACKET'S FAMILY, else world / world-ipv6.
 * `existing`: the packet belongs to a connection conntrack holds (a re-decision), else it would
 * start one — which a zombie address (FN_IPCACHE_ZOMBIE) no longer gets its learned identity for. */
static __always_inline __u32 peer_identity(const struct fn_ipcache_key *ik, __u8 ip_version, int existing)
{
	struct fn_ipcache_value *iv = bpf_map_lookup_elem(&fn_ipcache, ik);

	if (iv && iv->family == ip_version)
		return (iv->flags & FN_IPCACHE_ZOMBIE) && !existing ? iv->new_identity : iv->identity;
	return ip_version == 6 ? FN_ID_WORLD_IPV6 : FN_ID_WORLD;
}

/* Drops what the program cannot parse on a policed endpoint, counted with its reason. */
static __always_inline int drop_unparsed(struct __sk_buff *skb, const struct fn_pkt *p, __u8 dir, int parsed)
{
	__u32 ifindex = skb->ifindex;
	struct fn_endpoint *ep = bpf_map_lookup_elem(&fn_endpoints, &ifindex);
	if (!ep)
		return FN_PASS;
	struct fn_flow_key fk = {
		.local_id = ep->identity,
		.proto = p->proto,
		.direction = dir,
		.verdict = FN_FLOW_DROPPED,
		.ip_version = p->ip_version,
		.drop_reason = parsed == FN_PARSE_BAD_EXTHDR ? FN_DROP_INVALID_EXTHDR : FN_DROP_UNSUPPORTED_L3,
	};
	if (p->ip_version) {
		struct fn_ipcache_key ik = { .prefixlen = 128 };
		__builtin_memcpy(ik.addr, dir == FN_DIR_EGRESS ? p->daddr : p->saddr, 16);
		fk.peer_id = peer_identity(&ik, p->ip_version, 0);
	}
	__u32 zero = 0;
	struct fn_config *cfg = bpf_map_lookup_elem(&fn_config, &zero);
	count_flow(cfg ? cfg->flow_slot : 0, &fk, skb->len, 1, FN_NOW());
	return FN_DROP;
}

/* The node's netfilter conntrack (kfuncs, in vmlinux or the nf_conntrack module's BTF). __weak: a
 * kernel without them still loads the program; the check then reports "no entry". */
struct bpf_ct_opts___fn {
	__s32 netns_id;
	__s32 error;
	__u8 l4proto;
	__u8 dir;
	__u16 ct_zone_id;
	__u8 ct_zone_dir;
	__u8 reserved[3];
};
struct nf_conn {
	unsigned long status;
} __attribute__((preserve_access_index));
extern struct nf_conn *bpf_skb_ct_lookup(struct __sk_buff *skb, struct bpf_sock_tuple *tuple, __u32 tuple__sz,
					 struct bpf_ct_opts___fn *opts, __u32 opts__sz) __ksym __weak;
extern void bpf_ct_release(struct nf_conn *ct) __ksym __weak;
#define FN_IPS_NAT_MASK (16 | 32) /* IPS_SRC_NAT | IPS_DST_NAT */
#define FN_CURRENT_NETNS (-1)     /* BPF_F_CURRENT_NETNS */

/* 1 when the node's conntrack translates this TCP/UDP flow (kube-proxy's DNAT to a ClusterIP's backend,
 * masquerading, …): its packets must cross the node's netfilter. A lookup matches either direction of
 * an entry, so a backend's reply to a client that reached it through a ClusterIP is found too. */
static __noinline int node_translates(struct __sk_buff *skb, const struct fn_pkt *p)
{
	struct bpf_sock_tuple t = {};
	struct bpf_ct_opts___fn opts = { .netns_id = FN_CURRENT_NETNS, .l4proto = p->proto };
	__u32 size;

	if (!bpf_skb_ct_lookup || !bpf_ct_release)
		return 0;
	if (p->ip_version == 4) {
		t.ipv4.saddr = p->saddr[3];
		t.ipv4.daddr = p->daddr[3];
		t.ipv4.sport = p->sport;
		t.ipv4.dport = p->dport;
		size = sizeof(t.ipv4);
	} else {
		__builtin_memcpy(t.ipv6.saddr, p->saddr, 16);
		__builtin_memcpy(t.ipv6.daddr, p->daddr, 16);
		t.ipv6.sport = p->sport;
		t.ipv6.dport = p->dport;
		size = sizeof(t.ipv6);
	}
	struct nf_conn *ct = bpf_skb_ct_lookup(skb, &t, size, &opts, sizeof(opts));
	if (!ct)
		return 0;
	int nat = (ct->status & FN_IPS_NAT_MASK) != 0;
	bpf_ct_release(ct);
	return nat;
}

/* Host routing (FN_CFG_HOST_ROUTING) hands a pod's egress TCP/UDP packet to deliver_local unless the
 * node's conntrack translates its connection. That answer is asked once per conntrack entry (the
 * first packet that needs it, handle → learn_node_nat) and kept in the entry (node_nat), so an
 * established flow costs no nf_conntrack lookup. It is stable for the entry's life: the node NATs
 * a connection from its first packet through its stack, and a connection host routing delivers
 * never reaches the node's conntrack. decide_at's passes, beyond FN_PASS (which then means "not
 * NATed, or host routing does not apply"); never returned by a hook: */
#define FN_PASS_STACK     0x100 /* the node NATs the connection: leave the packet to its stack */
#define FN_PASS_ASK_ORIG  0x101 /* not asked yet; the entry is the packet's own (original direction) */
#define FN_PASS_ASK_REPLY 0x102 /* not asked yet; the entry is the one the packet replies to */
#define FN_PASS_PROXY     0x110 /* + FN_PROXY_*: a connection a policy hands to that proxy: to_proxy */
#define FN_PASS_UPSTREAM  0x120 /* a reply to a proxy's upstream socket: back to the proxy (back_to_proxy) */

static __always_inline int ct_pass(const struct fn_pkt *p, __u8 dir, const struct fn_config *cfg, __u8 node_nat, int reply)
{
	if (dir != FN_DIR_EGRESS || !(cfg->flags & FN_CFG_HOST_ROUTING) ||
	    (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP) || node_nat == FN_NODE_NAT_NO)
		return FN_PASS;
	if (node_nat == FN_NODE_NAT_YES)
		return FN_PASS_STACK;
	return reply ? FN_PASS_ASK_REPLY : FN_PASS_ASK_ORIG;
}

/* The proxies' address of the packet's family (16-byte form) into out. */
static __always_inline void proxy_addr(const struct fn_config *cfg, __u8 ip_version, __u32 *out)
{
	if (ip_version == 4)
		map_v4(out, cfg->proxy_addr4);
	else
		__builtin_memcpy(out, cfg->proxy_addr6, 16);
}

/* The port (network order) the agent's proxy of that kind listens on; 0 = it does not run. */
static __always_inline __u16 proxy_port(const struct fn_config *cfg, __u8 kind)
{
	return kind == FN_PROXY_DNS ? cfg->dns_proxy_port : kind == FN_PROXY_HTTP ? cfg->http_proxy_port : 0;
}

/* The proxy of that kind can take this packet: it runs (a port and an address of the packet's
 * family), and the packet has ports to rewrite (TCP or UDP, not a fragment). */
static __always_inline int proxy_ready(const struct fn_config *cfg, const struct fn_pkt *p, __u8 kind)
{
	if (!proxy_port(cfg, kind) || p->is_fragment || !p->l4_off || (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP))
		return 0;
	if (p->ip_version == 4)
		return cfg->proxy_addr4 != 0;
	__u32 a[4];
	__builtin_memcpy(a, cfg->proxy_addr6, 16);
	return (a[0] | a[1] | a[2] | a[3]) != 0;
}

/* Rewrites the packet's source (src = 1) or destination address and port to addr (16-byte form) and
 * port (network order), keeping the IPv4 header checksum and the TCP / UDP checksum (pseudo-header
 * included; a zero IPv4 UDP checksum stays zero) right. 0, or < 0 when a helper failed. */
static __noinline int rewrite_endpoint(struct __sk_buff *skb, const struct fn_pkt *p, int src, const __u32 *addr, __u16 port)
{
	__u32 l4 = p->l4_off;
	__u32 csum_off = l4 + (p->proto == IPPROTO_TCP ? 16 : 6);
	__u64 mangled = p->proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;
	__u16 old_port = src ? p->sport : p->dport;
	__u32 old[4];

	__builtin_memcpy(old, src ? p->saddr : p->daddr, 16);
	if (p->ip_version == 4) {
		__u32 addr_off = ETH_HLEN + (src ? __builtin_offsetof(struct iphdr, saddr) : __builtin_offsetof(struct iphdr, daddr));
		if (bpf_l4_csum_replace(skb, csum_off, old[3], addr[3], BPF_F_PSEUDO_HDR | mangled | 4) < 0 ||
		    bpf_l3_csum_replace(skb, ETH_HLEN + __builtin_offsetof(struct iphdr, check), old[3], addr[3], 4) < 0 ||
		    bpf_skb_store_bytes(skb, addr_off, &addr[3], 4, 0) < 0)
			return -1;
	} else {
		__u32 addr_off = ETH_HLEN + (src ? __builtin_offsetof(struct ipv6hdr, saddr) : __builtin_offsetof(struct ipv6hdr, daddr));
		__u32 new[4];
		__builtin_memcpy(new, addr, 16);
		__s64 diff = bpf_csum_diff(old, 16, new, 16, 0);
		if (diff < 0 || bpf_l4_csum_replace(skb, csum_off, 0, diff, BPF_F_PSEUDO_HDR | mangled) < 0 ||
		    bpf_skb_store_bytes(skb, addr_off, new, 16, 0) < 0)
			return -1;
	}
	if (bpf_l4_csum_replace(skb, csum_off, old_port, port, mangled | 2) < 0 ||
	    bpf_skb_store_bytes(skb, l4 + (src ? 0 : 2), &port, 2, 0) < 0)
		return -1;
	return 0;
}

/* Hands a packet of a connection its pod's egress policy redirects (FN_PASS_PROXY + kind) to the
 * agent's proxy of that kind: records the original destination for the proxy and for the answers
 * (fn_proxy_nat), then addresses the packet to the proxy; the node's stack delivers it to the proxy's
 * socket. */
static __always_inline int to_proxy(struct __sk_buff *skb, const struct fn_pkt *p, const struct fn_config *cfg, __u8 kind)
{
	struct fn_proxy_key k = { .port = p->sport, .proto = p->proto };
	struct fn_proxy_value v = { .port = p->dport, .proxy = kind, .ifindex = skb->ifindex };
	__u32 proxy[4];

	if (!proxy_ready(cfg, p, kind)) /* the proxy stopped since the connection was decided */
		return FN_DROP;

	__builtin_memcpy(k.addr, p->saddr, 16);
	__builtin_memcpy(v.addr, p->daddr, 16);
	if (bpf_map_update_elem(&fn_proxy_nat, &k, &v, BPF_ANY) != 0)
		return FN_DROP;
	proxy_addr(cfg, p->ip_version, proxy);
	if (rewrite_endpoint(skb, p, 0, proxy, proxy_port(cfg, kind)) < 0)
		return FN_DROP;
	return FN_PASS;
}

/* At the pod's ingress hook, before anything is decided: a packet from a proxy's address and port to
 * a pod whose connection was handed to that proxy gets the original destination back as its source
 * (and in p), so it is that connection's reply. Anything else is left alone. FN_DROP when a rewrite
 * failed halfway, else FN_PASS. */
static __always_inline int from_proxy(struct __sk_buff *skb, struct fn_pkt *p, const struct fn_config *cfg)
{
	__u32 proxy[4];

	if (!p->sport || (p->sport != cfg->dns_proxy_port && p->sport != cfg->http_proxy_port) || !p->l4_off ||
	    p->is_fragment || (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP))
		return FN_PASS;
	proxy_addr(cfg, p->ip_version, proxy);
	if (p->saddr[0] != proxy[0] || p->saddr[1] != proxy[1] || p->saddr[2] != proxy[2] || p->saddr[3] != proxy[3])
		return FN_PASS;
	struct fn_proxy_key k = { .port = p->dport, .proto = p->proto };
	__builtin_memcpy(k.addr, p->daddr, 16);
	struct fn_proxy_value *v = bpf_map_lookup_elem(&fn_proxy_nat, &k);
	if (!v || proxy_port(cfg, v->proxy) != p->sport) /* not handed to the proxy on this port */
		return FN_PASS;
	__u32 orig[4];
	__u16 port = v->port;
	__builtin_memcpy(orig, v->addr, 16);
	if (rewrite_endpoint(skb, p, 1, orig, port) < 0)
		return FN_DROP;
	__builtin_memcpy(p->saddr, orig, 16);
	p->sport = port;
	return FN_PASS;
}

/* The proxy of that kind can take this connection in this direction: egress, any kind (the packet is
 * rewritten to the proxy's address); ingress, the HTTP proxy and TCP (the packet goes unchanged to its
 * transparent socket). */
static __always_inline int proxy_takes(const struct fn_config *cfg, const struct fn_pkt *p, __u8 kind, __u8 dir)
{
	if (dir == FN_DIR_INGRESS && (kind != FN_PROXY_HTTP || p->proto != IPPROTO_TCP))
		return 0;
	return proxy_ready(cfg, p, kind);
}

/* The proxy upstream socket bound to (addr, port) for the packet's protocol (fn_proxy_upstreams), or NULL. */
static __always_inline struct fn_upstream_value *proxy_upstream(const struct fn_pkt *p, const __u32 *addr, __u16 port)
{
	struct fn_upstream_key k = { .port = port, .ip_version = p->ip_version, .proto = p->proto };

	if (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP)
		return NULL;
	__builtin_memcpy(k.addr, addr, 16);
	return bpf_map_lookup_elem(&fn_proxy_upstreams, &k);
}

/* Marks a packet for the agent's policy route to the proxy (FN_MARK_TO_PROXY), keeping the mark's
 * other bits. */
static __always_inline void mark_to_proxy(struct __sk_buff *skb)
{
	skb->mark = (skb->mark & ~FN_MARK_MASK) | FN_MARK_TO_PROXY;
}

/* Records a connection a server pod's ingress hands to the HTTP proxy (on its first packet, a SYN), for
 * the proxy: fn_proxy_nat[(client address, client port, TCP)] = (the pod's address and port, HTTP,
 * FN_PROXY_F_INGRESS, the pod's host veth `ifindex`). 0, or < 0 when the map refused it. */
static __always_inline int record_ingress_redirect(const struct fn_pkt *p, __u32 ifindex)
{
	struct fn_proxy_key k = { .port = p->sport, .proto = p->proto };
	struct fn_proxy_value v = { .port = p->dport, .proxy = FN_PROXY_HTTP, .flags = FN_PROXY_F_INGRESS, .ifindex = ifindex };

	if (!is_pure_syn(p))
		return 0;
	__builtin_memcpy(k.addr, p->saddr, 16);
	__builtin_memcpy(v.addr, p->daddr, 16);
	return bpf_map_update_elem(&fn_proxy_nat, &k, &v, BPF_ANY) == 0 ? 0 : -1;
}

/* At a TC ingress hook: a packet of a connection handed to the HTTP proxy at its server pod's ingress
 * goes, unchanged, to the proxy's transparent socket. A SYN is assigned to the proxy's listening socket
 * (bpf_sk_assign; the listener is found at the proxy's address and port); later packets find the
 * connection's own socket in the stack's lookup. All are marked for the agent's policy route, which
 * delivers them locally although they are addressed to the pod. FN_PASS, or FN_DROP when the proxy
 * does not listen (it stopped: fail closed). */
static __noinline int assign_to_proxy(struct __sk_buff *skb, const struct fn_pkt *p, const struct fn_config *cfg)
{
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk;

	mark_to_proxy(skb);
	if (!is_pure_syn(p))
		return FN_PASS;
	if (p->ip_version == 4) {
		t.ipv4.saddr = p->saddr[3];
		t.ipv4.sport = p->sport;
		t.ipv4.daddr = cfg->proxy_addr4;
		t.ipv4.dport = cfg->http_proxy_port;
		sk = bpf_sk_lookup_tcp(skb, &t, sizeof(t.ipv4), FN_CURRENT_NETNS, 0);
	} else {
		__builtin_memcpy(t.ipv6.saddr, p->saddr, 16);
		t.ipv6.sport = p->sport;
		__builtin_memcpy(t.ipv6.daddr, cfg->proxy_addr6, 16);
		t.ipv6.dport = cfg->http_proxy_port;
		sk = bpf_sk_lookup_tcp(skb, &t, sizeof(t.ipv6), FN_CURRENT_NETNS, 0);
	}
	if (!sk)
		return FN_DROP;
	long err = bpf_sk_assign(skb, sk, 0);
	bpf_sk_release(sk);
	return err == 0 ? FN_PASS : FN_DROP;
}

#define FN_LOOPBACK_IFINDEX 1 /* `lo` is ifindex 1 in every network namespace */

/* Sends a packet for one of the proxy's sockets (its transparent listener, or an upstream socket that
 * speaks with a client's address) into the node's stack, marked for the proxy route, which delivers it
 * locally although it is addressed elsewhere. At a TC ingress hook (dir EGRESS: the pod's egress) the
 * mark is enough: the stack takes the packet next. At a TC egress hook it re-enters at the ingress of
 * `lo`, addressed to lo's all-zero MAC (fn_to_proxy). */
static __always_inline int back_to_proxy(struct __sk_buff *skb, __u8 dir)
{
	const __u8 zero_mac[ETH_ALEN] = {};

	mark_to_proxy(skb);
	if (dir == FN_DIR_EGRESS)
		return FN_PASS;
	if (bpf_skb_store_bytes(skb, 0, zero_mac, ETH_ALEN, 0) < 0)
		return FN_DROP;
	return bpf_redirect(FN_LOOPBACK_IFINDEX, BPF_F_INGRESS);
}

/* At a server pod's ingress hook (fn_to_pod), a packet of a connection its policy hands to the HTTP
 * proxy (FN_PASS_PROXY + HTTP): recorded for the proxy, marked, and sent back unchanged into the node's
 * stack at the ingress of `lo` — addressed to lo's all-zero MAC — where fn_to_proxy hands it to the
 * proxy's socket (assign_to_proxy). Why lo: a packet from the node's own address (a proxy's upstream
 * connection) re-entering elsewhere would be a martian; the agent sets accept_local on lo only, which
 * no pod can send into. */
static __always_inline int to_proxy_ingress(struct __sk_buff *skb, const struct fn_pkt *p, const struct fn_config *cfg)
{
	if (!proxy_takes(cfg, p, FN_PROXY_HTTP, FN_DIR_INGRESS) || record_ingress_redirect(p, skb->ifindex) < 0)
		return FN_DROP;
	return back_to_proxy(skb, FN_DIR_INGRESS);
}

/* Conntrack, identity, policy and counting of a parsed packet as the hook of host veth `ifindex` in
 * direction `dir` would decide it: FN_DROP, or FN_PASS / FN_PASS_STACK / FN_PASS_ASK_* (see ct_pass). Called for the packet's own hook, and — for same-node delivery
 * (deliver_local) — once more as the destination's ingress hook. */
static __noinline int decide_at(struct __sk_buff *skb, const struct fn_pkt *p, __u8 dir, __u32 ifindex,
				const struct fn_config *cfg)
{
	__u64 now = FN_NOW();
	__u8 has_ct = p->has_ct;
	__u64 len = skb->len;
	struct fn_flow_key fk = {
		.proto = p->proto,
		.direction = dir,
		.ip_version = p->ip_version,
	};
	struct fn_ct_key ck = {
		.ifindex = ifindex, .sport = p->sport, .dport = p->dport, .proto = p->proto, .direction = dir,
	};
	__builtin_memcpy(ck.saddr, p->saddr, 16);
	__builtin_memcpy(ck.daddr, p->daddr, 16);
	struct fn_ct_value *cv = NULL;
	__u8 reopen = 0; /* a pure SYN on a CLOSING entry: a new connection on the same tuple */

	/* Conntrack first: a live entry implies the endpoint was managed when it was decided
	 * (deleting an endpoint detaches the programs), so the endpoint lookup is needed only for
	 * packets that go on to the policy. */
	if (has_ct) {
		/* 1. Original direction. */
		if (!p->is_echo_reply) {
			cv = bpf_map_lookup_elem(&fn_ct, &ck);
			if (!ct_alive(cv, cfg, now, p->proto))
				cv = NULL;
			if (cv && is_pure_syn(p) && cv->state == FN_CT_CLOSING)
				reopen = 1;
			if (cv && !reopen && cv->generation == cfg->generation) {
				ct_touch(cv, p, now, 0);
				fk.local_id = cv->local_id;
				fk.peer_id = cv->peer_id;
				fk.rule_id = cv->rule_id;
				fk.dport = bpf_ntohs(p->policy_port);
				fk.verdict = cv->verdict;
				if (cv->upstream != FN_CT_UPSTREAM_DECIDED) /* else counted as the client's own connection */
					count_flow(cfg->flow_slot, &fk, len, 0, now);
				if (cv->proxy != FN_PROXY_NONE)
					return FN_PASS_PROXY + cv->proxy;
				return ct_pass(p, dir, cfg, cv->node_nat, 0);
			}
		}
		/* 2. Reply of a connection this endpoint let through in the other direction. */
		if ((p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP || p->is_echo_reply) && !is_pure_syn(p)) {
			struct fn_ct_key rk = {
				.ifindex = ifindex, .sport = p->dport, .dport = p->sport, .proto = p->proto,
				.direction = opposite(dir),
			};
			__builtin_memcpy(rk.saddr, p->daddr, 16);
			__builtin_memcpy(rk.daddr, p->saddr, 16);
			struct fn_ct_value *rv = bpf_map_lookup_elem(&fn_ct, &rk);
			if (ct_alive(rv, cfg, now, p->proto)) {
				ct_touch(rv, p, now, 1);
				fk.local_id = rv->local_id;
				fk.peer_id = rv->peer_id;
				fk.dport = bpf_ntohs(p->sport);
				fk.verdict = FN_FLOW_REPLY;
				if (p->is_echo_reply)
					fk.dport = p->proto == IPPROTO_ICMP ? FN_ICMP_ECHO : FN_ICMP6_ECHO;
				count_flow(cfg->flow_slot, &fk, len, 0, now);
				if (rv->upstream && dir == FN_DIR_EGRESS) /* the server answers a proxy's socket */
					return FN_PASS_UPSTREAM;
				return ct_pass(p, dir, cfg, rv->node_nat, 1);
			}
		}
		if (p->is_echo_reply) /* echo reply without a request: policed like any ICMP type 0 / 129 */
			has_ct = 0;
	}
	/* 3. ICMP errors related to a live connection. */
	if (p->is_icmp_error && ct_related(skb, p, dir, ifindex, cfg, now, &fk)) {
		count_flow(cfg->flow_slot, &fk, len, 0, now);
		return FN_PASS;
	}

	/* 3b. Addressed to a proxy's upstream socket that speaks with this pod's address (a server that is
	 *     no managed pod of this node answers it): the proxy's, not the pod's — not the pod's traffic. */
	if (dir == FN_DIR_INGRESS && has_ct && proxy_upstream(p, p->daddr, p->dport))
		return FN_PASS_UPSTREAM;

	struct fn_endpoint *ep = bpf_map_lookup_elem(&fn_endpoints, &ifindex);
	if (!ep) /* unmanaged veth: untouched, uncounted */
		return FN_PASS;
	fk.local_id = ep->identity;

	/* 4. Peer identity (ipcache miss = world / world-ipv6) and policy. */
	struct fn_ipcache_key ik = { .prefixlen = 128 };
	__builtin_memcpy(ik.addr, dir == FN_DIR_EGRESS ? p->daddr : p->saddr, 16);
	__u32 peer = peer_identity(&ik, p->ip_version, cv != NULL && !reopen);
	if (p->is_ndp && peer == FN_ID_HOST)
		return FN_PASS;
	/* A proxy's upstream socket speaks for the client it registered (the node's own address would be
	 * `host`); its connection's replies go back to it (the entry's `upstream`). */
	__u8 upstream = 0, decided = 0;
	if (dir == FN_DIR_INGRESS && has_ct) {
		struct fn_upstream_value *uv = proxy_upstream(p, p->saddr, p->sport);
		if (uv) {
			peer = uv->identity;
			upstream = 1;
			decided = (uv->flags & FN_UPSTREAM_DECIDED) != 0;
		}
	}

	struct fn_decision d = {};
	decide(ep, p, peer, dir, cfg->flags, &d);
	if (decided) /* the proxy's own connection for a request it let through */
		d.proxy = FN_PROXY_NONE;
	fk.peer_id = peer;
	fk.rule_id = d.rule_id;
	fk.dport = bpf_ntohs(p->policy_port);
	fk.verdict = d.flow_verdict;
	if (d.proxy != FN_PROXY_NONE && (!has_ct || !proxy_takes(cfg, p, d.proxy, dir))) {
		/* handed to a proxy that cannot take it: never forwarded past the proxy */
		fk.verdict = FN_FLOW_DROPPED;
		fk.drop_reason = FN_DROP_NO_PROXY;
		d.flow_verdict = FN_FLOW_DROPPED;
	}

	__u64 attempt = p->proto != IPPROTO_TCP || is_pure_syn(p);
	if (d.flow_verdict == FN_FLOW_DROPPED) {
		if (cv) /* a connection allowed under an older generation: its replies stop too */
			bpf_map_delete_elem(&fn_ct, &ck);
		count_flow(cfg->flow_slot, &fk, len, attempt, now);
		return FN_DROP;
	}

	/* 5. Forwarded or audited: (re)record the connection so it, its replies and related errors
	 *    pass. A re-decided entry keeps its TCP state. */
	__u64 created = 0;
	int pass = FN_PASS;
	if (has_ct) {
		created = !cv || reopen;
		struct fn_ct_value nv = {
			.last_seen_ns = now, .rule_id = d.rule_id, .peer_id = peer,
			.local_id = ep->identity, .generation = cfg->generation, .verdict = d.flow_verdict,
			.state = created ? ct_initial_state(p) : cv->state,
			.node_nat = created ? FN_NODE_NAT_UNKNOWN : cv->node_nat,
			.proxy = d.proxy,
			.upstream = decided ? FN_CT_UPSTREAM_DECIDED : upstream ? FN_CT_UPSTREAM : 0,
		};
		if (!created)
			ct_touch(&nv, p, now, 0);
		pass = d.proxy != FN_PROXY_NONE ? FN_PASS_PROXY + d.proxy : ct_pass(p, dir, cfg, nv.node_nat, 0);
		if (bpf_map_update_elem(&fn_ct, &ck, &nv, BPF_ANY) != 0) {
			/* No state, so no replies: drop now rather than forward a half-connection. */
			fk.verdict = FN_FLOW_DROPPED;
			fk.drop_reason = FN_DROP_CT_INSERT;
			count_flow(cfg->flow_slot, &fk, len, attempt, now);
			return FN_DROP;
		}
	}
	/* The ingress proxy's own upstream connection is the client's connection, already counted at this hook
	 * when it was handed to the proxy: its packets into the pod are not counted twice (its replies are,
	 * as the connection's replies). */
	if (!decided)
		count_flow(cfg->flow_slot, &fk, len, created, now);
	return pass;
}

/* Asks the node's conntrack about the connection of an egress packet whose entry does not know yet
 * (FN_PASS_ASK_*) and keeps the answer in that entry. Returns the answer (1 = NATed). */
static __noinline int learn_node_nat(struct __sk_buff *skb, const struct fn_pkt *p, int reply)
{
	int nat = node_translates(skb, p);
	struct fn_ct_key k = { .ifindex = skb->ifindex, .proto = p->proto };

	if (reply) { /* the entry of the connection this packet answers, created at the ingress hook */
		k.sport = p->dport;
		k.dport = p->sport;
		k.direction = FN_DIR_INGRESS;
		__builtin_memcpy(k.saddr, p->daddr, 16);
		__builtin_memcpy(k.daddr, p->saddr, 16);
	} else {
		k.sport = p->sport;
		k.dport = p->dport;
		k.direction = FN_DIR_EGRESS;
		__builtin_memcpy(k.saddr, p->saddr, 16);
		__builtin_memcpy(k.daddr, p->daddr, 16);
	}
	struct fn_ct_value *v = bpf_map_lookup_elem(&fn_ct, &k);
	if (v)
		v->node_nat = nat ? FN_NODE_NAT_YES : FN_NODE_NAT_NO;
	return nat;
}

/* Same-node delivery (FN_CFG_HOST_ROUTING), for a packet its source pod's egress let through: when
 * the node's FIB routes it out of another policed host veth with a resolved neighbour, the
 * destination's ingress is decided here (as its own hook would) and the packet goes straight into
 * the destination pod (bpf_redirect_peer: no second pass through the node's stack, no second hook).
 * The stack's forwarding work is done here: TTL / hop limit decremented, MACs from the FIB. Anything
 * else — not TCP or UDP, not routed to a policed veth, no neighbour yet, TTL about to expire, a
 * rewrite that fails — returns FN_PASS and takes the stack, where the destination's own hook decides
 * as before. Connections the node's conntrack translates (NAT) never get here (decide_at's
 * FN_PASS_STACK). */
static __always_inline int deliver_local(struct __sk_buff *skb, const struct fn_pkt *p, const struct fn_config *cfg)
{
	struct bpf_fib_lookup fib = {};
	__u32 ttl_off;

	/* TCP and UDP only: the node's conntrack can be asked about them (node_translates); never fragments,
	 * which the node's stack reassembles for its conntrack */
	if ((p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP) || p->is_fragment || p->ttl <= 1)
		return FN_PASS;
	fib.ifindex = skb->ifindex;
	fib.l4_protocol = p->proto;
	fib.sport = p->sport;
	fib.dport = p->dport;
	fib.tot_len = p->ip_len;
	if (p->ip_version == 4) {
		fib.family = 2; /* AF_INET */
		fib.tos = p->tos;
		fib.ipv4_src = p->saddr[3];
		fib.ipv4_dst = p->daddr[3];
		ttl_off = ETH_HLEN + __builtin_offsetof(struct iphdr, ttl);
	} else {
		fib.family = 10; /* AF_INET6 */
		__builtin_memcpy(fib.ipv6_src, p->saddr, 16);
		__builtin_memcpy(fib.ipv6_dst, p->daddr, 16);
		ttl_off = ETH_HLEN + __builtin_offsetof(struct ipv6hdr, hop_limit);
	}
	if (bpf_fib_lookup(skb, &fib, sizeof(fib), 0) != BPF_FIB_LKUP_RET_SUCCESS)
		return FN_PASS;
	__u32 out = fib.ifindex;
	if (out == skb->ifindex || !bpf_map_lookup_elem(&fn_endpoints, &out))
		return FN_PASS;
	int verdict = decide_at(skb, p, FN_DIR_INGRESS, out, cfg);
	if (verdict == FN_DROP)
		return FN_DROP;
	if (verdict == FN_PASS_PROXY + FN_PROXY_HTTP) /* the destination's ingress hands it to the proxy */
		return record_ingress_redirect(p, out) < 0 ? FN_DROP : assign_to_proxy(skb, p, cfg);
	if (verdict == FN_PASS_UPSTREAM) /* addressed to a proxy's socket with the destination's address */
		return back_to_proxy(skb, FN_DIR_EGRESS);
	/* Forward as the stack would: one hop less, the FIB's MACs. */
	__u8 ttl = p->ttl;
	__u8 next = ttl - 1;
	if (p->ip_version == 4) {
		/* the checksum covers ttl as the high byte of the (ttl, protocol) word */
		__u32 csum_off = ETH_HLEN + __builtin_offsetof(struct iphdr, check);
		if (bpf_l3_csum_replace(skb, csum_off, bpf_htons((__u16)ttl << 8), bpf_htons((__u16)next << 8), 2) < 0)
			return FN_PASS;
	}
	if (bpf_skb_store_bytes(skb, ttl_off, &next, 1, 0) < 0 ||
	    bpf_skb_store_bytes(skb, 0, fib.dmac, ETH_ALEN, 0) < 0 ||
	    bpf_skb_store_bytes(skb, ETH_ALEN, fib.smac, ETH_ALEN, 0) < 0)
		return FN_DROP; /* half rewritten: cannot go either way */
	return bpf_redirect_peer(out, 0);
}

static __always_inline int handle(struct __sk_buff *skb, __u8 dir)
{
	struct fn_pkt p = {};
	int parsed;

	if (skb->protocol == bpf_htons(ETH_P_IP))
		parsed = parse_ipv4(skb, &p);
	else if (skb->protocol == bpf_htons(ETH_P_IPV6))
		parsed = parse_ipv6(skb, &p);
	else if (skb->protocol == bpf_htons(ETH_P_ARP))
		return FN_PASS;
	else
		parsed = FN_PARSE_UNSUPPORTED;
	/* Neighbor discovery passes uncounted, as in Cilium, when it can only be link traffic: into the
	 * pod (hop limit 255 at this hook means the node itself sent it: routing decrements it), or out
	 * of the pod to a link-local or multicast address or to the node (checked at the ipcache
	 * lookup in decide_at). Anything else with an NDP type is plain ICMPv6, decided by policy. */
	if (p.is_ndp && (dir == FN_DIR_INGRESS || is_link_scope(p.daddr)))
		return FN_PASS;
	if (parsed != FN_PARSE_OK)
		return drop_unparsed(skb, &p, dir, parsed);

	__u32 zero = 0;
	const struct fn_config *cfg = bpf_map_lookup_elem(&fn_config, &zero);
	if (!cfg) /* an array map's key 0 always exists; this satisfies the verifier */
		return FN_PASS;
	if (dir == FN_DIR_INGRESS && from_proxy(skb, &p, cfg) == FN_DROP)
		return FN_DROP;
	int verdict = decide_at(skb, &p, dir, skb->ifindex, cfg);
	if (verdict == FN_DROP)
		return FN_DROP;
	if (verdict > FN_PASS_PROXY && verdict <= FN_PASS_PROXY + FN_PROXY_MAX)
		return dir == FN_DIR_EGRESS ? to_proxy(skb, &p, cfg, verdict - FN_PASS_PROXY) : to_proxy_ingress(skb, &p, cfg);
	if (verdict == FN_PASS_UPSTREAM)
		return back_to_proxy(skb, dir);
	if (verdict == FN_PASS_ASK_ORIG || verdict == FN_PASS_ASK_REPLY)
		verdict = learn_node_nat(skb, &p, verdict == FN_PASS_ASK_REPLY) ? FN_PASS_STACK : FN_PASS;
	/* FN_PASS_STACK: the node NATs the connection, its netfilter must see every packet */
	if (verdict == FN_PASS && dir == FN_DIR_EGRESS && (cfg->flags & FN_CFG_HOST_ROUTING) && !p.is_ndp)
		return deliver_local(skb, &p, cfg);
	return FN_PASS;
}

/* TCX ingress of `lo` (attached while the HTTP proxy runs): packets a server pod's ingress hook sent
 * here (to_proxy_ingress, FN_MARK_TO_PROXY) — decided and counted there — go to the proxy's socket;
 * everything else passes untouched. */
SEC("tc")
int fn_to_proxy(struct __sk_buff *skb)
{
	struct fn_pkt p = {};
	__u32 zero = 0;

	if ((skb->mark & FN_MARK_MASK) != FN_MARK_TO_PROXY)
		return FN_PASS;
	int parsed = skb->protocol == bpf_htons(ETH_P_IP) ? parse_ipv4(skb, &p) : skb->protocol == bpf_htons(ETH_P_IPV6) ? parse_ipv6(skb, &p) : FN_PARSE_UNSUPPORTED;
	const struct fn_config *cfg = bpf_map_lookup_elem(&fn_config, &zero);
	if (parsed != FN_PARSE_OK || !cfg || !p.l4_off)
		return FN_DROP;
	if (p.proto == IPPROTO_UDP) /* an answer to a proxy's upstream socket: the mark is all it needs */
		return FN_PASS;
	if (p.proto != IPPROTO_TCP)
		return FN_DROP;
	return assign_to_proxy(skb, &p, cfg);
}

SEC("tc")
int fn_from_pod(struct __sk_buff *skb)
{
	return handle(skb, FN_DIR_EGRESS);
}

SEC("tc")
int fn_to_pod(struct __sk_buff *skb)
{
	return handle(skb, FN_DIR_INGRESS);
}
