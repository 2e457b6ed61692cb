// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Bench baseline: a TC program that does nothing (TCX_NEXT), to separate the cost of having a
 * hook attached from the cost of fleetnet's lookups. Compiled by bench/datapath.ts. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("tc")
int fn_noop(struct __sk_buff *skb)
{
	return -1; /* TC_ACT_UNSPEC = TCX_NEXT */
}
