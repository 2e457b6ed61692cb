// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fleetnet policy programs for the host side of each pod's veth: lookup, decide, count.
 *
 *   fn_from_pod — host veth TC/TCX ingress = the pod's EGRESS   (peer = destination address)
 *   fn_to_pod   — host veth TC/TCX egress  = the pod's INGRESS  (peer = source address)
 *
 * Only IPv4 is policed. Every other EtherType (IPv6, ARP, ...) passes untouched and uncounted.
 * Pass is TC_ACT_UNSPEC (= TCX_NEXT): later programs on the same hook (e.g. the CNI's) still run;
 * with nothing after us the kernel forwards the packet. Drop is TC_ACT_SHOT (= TCX_DROP).
 *
 * Non-first IPv4 fragments carry no L4 header: they are evaluated with dport 0 (so a port-specific
 * allow does not cover them) and never match conntrack. Known limitation.
 *
 * Layouts of all maps: fleetnet.h.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
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

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__type(key, struct fn_flow_key);
	__type(value, struct fn_flow_value);
	__uint(max_entries, FN_MAX_FLOWS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fn_flows SEC(".maps");

/* Clock of every timestamp the program writes: CLOCK_MONOTONIC at tick resolution (coarse: lags
 * the precise clock by at most one jiffy, 1–4 ms). Measured here: bpf_ktime_get_ns costs ~35 ns
 * per packet per hook, the coarse read almost nothing; flow windows and conntrack lifetimes are
 * seconds. Change this one line for ns resolution. */
#define FN_NOW() bpf_ktime_get_coarse_ns()

#define FN_PASS TC_ACT_UNSPEC
#define FN_DROP TC_ACT_SHOT

#define FN_ICMP_ECHO_REPLY 0
#define FN_ICMP_ECHO       8
#define FN_TCP_FLAG_SYN    0x02
#define FN_TCP_FLAG_ACK    0x10

struct fn_pkt {
	__u32 saddr;       /* network order */
	__u32 daddr;       /* network order */
	__u16 sport;       /* network order; ICMP echo/echo-reply: echo id */
	__u16 dport;       /* network order; ICMP echo/echo-reply: echo id */
	__u16 policy_port; /* network order; the port the policy sees (ICMP: type) */
	__u8 proto;
	__u8 tcp_flags;
	__u8 has_ct;       /* 1 if this packet may create / match conntrack */
	__u8 is_echo_reply;
};

struct fn_decision {
	__u32 rule_id;
	__u8 flow_verdict; /* FN_FLOW_FORWARDED / DROPPED / AUDIT */
};

/* Fills p->ports from the L4 header bytes (TCP: 14 bytes, UDP: 4, ICMP: 8 are enough). */
static __always_inline void parse_l4(struct fn_pkt *p, const __u8 *l4)
{
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
		p->policy_port = bpf_htons(l4[0]);
		if (l4[0] == FN_ICMP_ECHO || l4[0] == FN_ICMP_ECHO_REPLY) {
			__builtin_memcpy(&p->sport, &l4[4], 2);
			p->dport = p->sport;
			p->has_ct = 1;
			p->is_echo_reply = l4[0] == FN_ICMP_ECHO_REPLY;
		}
	}
}

#define FN_L4_BYTES 14 /* the most parse_l4 reads (TCP flags at offset 13) */

/* Returns -1 if not IPv4. Headers are read in place when the linear area holds them (the common
 * case), else copied with bpf_skb_load_bytes; an L4 header shorter than FN_L4_BYTES within the
 * packet leaves ports 0 (such packets cannot be valid TCP and are treated as port 0 otherwise). */
static __always_inline int parse_ipv4(struct __sk_buff *skb, struct fn_pkt *p)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct iphdr *iph = data + ETH_HLEN;
	struct iphdr ipcopy;

	if ((void *)(iph + 1) > end) {
		if (bpf_skb_load_bytes(skb, ETH_HLEN, &ipcopy, sizeof(ipcopy)) < 0)
			return -1;
		iph = &ipcopy;
	}
	if (iph->version != 4)
		return -1;
	p->saddr = iph->saddr;
	p->daddr = iph->daddr;
	p->proto = iph->protocol;
	if (iph->frag_off & bpf_htons(0x1fff)) /* non-first fragment: no L4 header */
		return 0;
	if (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP && p->proto != IPPROTO_ICMP)
		return 0;

	__u32 l4off = ETH_HLEN + (iph->ihl & 0xf) * 4;
	__u8 *l4 = data + l4off;
	if ((void *)(l4 + FN_L4_BYTES) <= end) {
		parse_l4(p, l4);
		return 0;
	}
	__u8 copy[FN_L4_BYTES] = {};
	__u32 avail = skb->len > l4off ? skb->len - l4off : 0;
	if (avail >= FN_L4_BYTES) {
		if (bpf_skb_load_bytes(skb, l4off, copy, FN_L4_BYTES) < 0)
			return 0;
	} else if (avail >= 8) { /* UDP (8) and ICMP echo (8) headers of tiny packets */
		if (bpf_skb_load_bytes(skb, l4off, copy, 8) < 0)
			return 0;
	} else {
		return 0;
	}
	parse_l4(p, copy);
	return 0;
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
 * Then, with D = the endpoint's default-deny bit and A = its audit bit for this direction:
 *   best = DENY        → DROPPED (rule of the deny)     — or AUDIT if A (forward, counted)
 *   best = AUDIT_DENY  → AUDIT   (rule of the entry)    — forwarded, counted as would-drop
 *   best = ALLOW       → FORWARDED (rule of the allow)
 *   no match, D set    → DROPPED (rule 0)               — or AUDIT if A
 *   no match, D clear  → FORWARDED (rule 0)
 * Before this decision (see fn_ct in fleetnet.h): packets of a connection already decided under the
 * current generation reuse that decision; replies of a connection allowed in the other direction
 * pass. Every change of endpoints/ipcache/policy bumps the generation, so it applies at once.
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
				   __u8 dir, struct fn_decision *d)
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
	if (rank == 3)
		d->flow_verdict = drop;
	else if (rank == 2)
		d->flow_verdict = FN_FLOW_AUDIT;
	else if (rank == 1)
		d->flow_verdict = FN_FLOW_FORWARDED;
	else
		d->flow_verdict = (ep->flags & deny_bit) ? drop : FN_FLOW_FORWARDED;
	if (rank == 0)
		d->rule_id = 0;
}

static __always_inline void count_flow(struct fn_flow_key *k, __u64 len, __u64 new_flows, __u64 now)
{
	struct fn_flow_value *v = bpf_map_lookup_elem(&fn_flows, k);

	if (!v) {
		struct fn_flow_value init = {
			.packets = 1, .bytes = len, .flows = new_flows,
			.first_seen_ns = now, .last_seen_ns = now,
		};
		if (bpf_map_update_elem(&fn_flows, k, &init, BPF_NOEXIST) == 0)
			return;
		v = bpf_map_lookup_elem(&fn_flows, k); /* lost a race with another packet on this CPU */
		if (!v)
			return;
	}
	/* Per-CPU value: no other writer on this CPU while the program runs. */
	if (v->packets == 0)
		v->first_seen_ns = now;
	v->packets += 1;
	v->bytes += len;
	v->flows += new_flows;
	v->last_seen_ns = now;
}

static __always_inline __u64 ct_lifetime(__u8 proto)
{
	return proto == IPPROTO_TCP ? FN_CT_LIFETIME_TCP_NS : FN_CT_LIFETIME_OTHER_NS;
}

static __always_inline int ct_live(const struct fn_ct_value *cv, __u32 gen, __u64 now, __u8 proto)
{
	return cv && cv->generation == gen && now - cv->last_seen_ns < ct_lifetime(proto);
}

static __always_inline void ct_touch(struct fn_ct_value *cv, __u64 now)
{
	if (now - cv->last_seen_ns > FN_CT_REFRESH_NS)
		cv->last_seen_ns = now;
}

static __always_inline int handle(struct __sk_buff *skb, __u8 dir)
{
	if (skb->protocol != bpf_htons(ETH_P_IP))
		return FN_PASS;

	struct fn_pkt p = {};
	if (parse_ipv4(skb, &p) < 0)
		return FN_PASS;

	__u32 ifindex = skb->ifindex;
	__u32 zero = 0;
	struct fn_config *cfg = bpf_map_lookup_elem(&fn_config, &zero);
	__u32 gen = cfg ? cfg->generation : 0;
	__u64 now = FN_NOW();
	__u64 len = skb->len;
	struct fn_flow_key fk = {
		.proto = p.proto,
		.direction = dir,
	};
	struct fn_ct_key ck = {
		.saddr = p.saddr, .daddr = p.daddr, .ifindex = ifindex,
		.sport = p.sport, .dport = p.dport, .proto = p.proto, .direction = dir,
	};
	struct fn_ct_value *cv = NULL;

	/* Conntrack first: a live entry of the current generation implies the endpoint was managed
	 * when it was decided (deleting an endpoint bumps the generation), so the endpoint lookup is
	 * needed only for packets that go on to the policy. */
	if (p.has_ct) {
		/* 1. Established in this direction, decided under the current generation. */
		if (!p.is_echo_reply) {
			cv = bpf_map_lookup_elem(&fn_ct, &ck);
			if (ct_live(cv, gen, now, p.proto)) {
				ct_touch(cv, now);
				fk.local_id = cv->local_id;
				fk.peer_id = cv->peer_id;
				fk.rule_id = cv->rule_id;
				fk.dport = bpf_ntohs(p.policy_port);
				fk.verdict = cv->verdict;
				count_flow(&fk, len, 0, now);
				return FN_PASS;
			}
		}
		/* 2. Reply of a connection this endpoint let through in the other direction. */
		if (p.proto != IPPROTO_ICMP || p.is_echo_reply) {
			struct fn_ct_key rk = {
				.saddr = p.daddr, .daddr = p.saddr, .ifindex = ifindex,
				.sport = p.dport, .dport = p.sport, .proto = p.proto,
				.direction = dir == FN_DIR_INGRESS ? FN_DIR_EGRESS : FN_DIR_INGRESS,
			};
			struct fn_ct_value *rv = bpf_map_lookup_elem(&fn_ct, &rk);
			if (ct_live(rv, gen, now, p.proto)) {
				ct_touch(rv, now);
				fk.local_id = rv->local_id;
				fk.peer_id = rv->peer_id;
				fk.dport = bpf_ntohs(p.sport);
				fk.verdict = FN_FLOW_REPLY;
				count_flow(&fk, len, 0, now);
				return FN_PASS;
			}
		}
		if (p.is_echo_reply) /* echo reply without a request: policed like any ICMP type 0 */
			p.has_ct = 0;
	}

	struct fn_endpoint *ep = bpf_map_lookup_elem(&fn_endpoints, &ifindex);
	if (!ep) /* unmanaged veth: untouched, uncounted */
		return FN_PASS;
	fk.local_id = ep->identity;

	/* 3. Peer identity (ipcache miss = world) and policy. */
	struct fn_ipcache_key ik = {
		.prefixlen = 32,
		.addr = dir == FN_DIR_EGRESS ? p.daddr : p.saddr,
	};
	struct fn_ipcache_value *iv = bpf_map_lookup_elem(&fn_ipcache, &ik);
	__u32 peer = iv ? iv->identity : FN_ID_WORLD;

	struct fn_decision d = {};
	decide(ep, &p, peer, dir, &d);
	fk.peer_id = peer;
	fk.rule_id = d.rule_id;
	fk.dport = bpf_ntohs(p.policy_port);
	fk.verdict = d.flow_verdict;

	if (d.flow_verdict == FN_FLOW_DROPPED) {
		if (cv) /* a connection allowed under an older generation: its replies stop too */
			bpf_map_delete_elem(&fn_ct, &ck);
		__u64 attempt = p.proto != IPPROTO_TCP ||
				(p.tcp_flags & (FN_TCP_FLAG_SYN | FN_TCP_FLAG_ACK)) == FN_TCP_FLAG_SYN;
		count_flow(&fk, len, attempt, now);
		return FN_DROP;
	}

	/* 4. Forwarded or audited: (re)record the connection so it and its replies pass. */
	__u64 created = 0;
	if (p.has_ct) {
		created = !cv || now - cv->last_seen_ns >= ct_lifetime(p.proto);
		struct fn_ct_value nv = {
			.last_seen_ns = now, .rule_id = d.rule_id, .peer_id = peer,
			.local_id = ep->identity, .generation = gen, .verdict = d.flow_verdict,
		};
		bpf_map_update_elem(&fn_ct, &ck, &nv, BPF_ANY);
	}
	count_flow(&fk, len, created, now);
	return FN_PASS;
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
