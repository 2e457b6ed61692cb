/**
 * applyCompiledState — reconciles the datapath's maps with a CompiledState. Reads what the maps hold
 * (never flushes: a restarted agent converges from whatever is pinned), then writes in this order:
 *
 *   1. policy raise     (old → T = max(old, new), see plan-policy-transition.ts)
 *   2. ipcache upsert   (new prefixes and changed identities)
 *   3. endpoints        (changed entries updated; newly seen ifindexes: entry written, then attached)
 *   4. ipcache delete   (stale prefixes — while the policy is still T, see the identity limit below)
 *   5. policy settle    (T → new: new values and deletes of old-only keys, in the planned order)
 *   6. detach           (ifindexes that are no longer desired: links removed, entry deleted)
 *
 * Ordering argument (no connection that both the old and the new state allow is dropped, none that
 * both deny passes) — the full version is in docs/agent.md "Apply ordering":
 * - For a connection whose local and peer identities are the same in both states, only the policy
 *   map decides between old and new, and every intermediate policy state of steps 1 and 5 is one of a
 *   safe raise old → T or new → T, T = max(old, new) by rank per family (plan-policy-transition.ts):
 *   a both-deny stays denied, a both-allow is never denied and keeps its match.
 * - Endpoint bits change in step 3, while the policy is T: a both-allow has T = allow (the bit is
 *   irrelevant) or no match in both states (then the bit was clear in both); a both-deny has T = deny,
 *   or no match and the bit set in both states.
 * - A newly seen endpoint is attached only after its entry and the policy of its identity are in
 *   place (T = new for an identity the old state did not have), so its first packet meets the new
 *   policy.
 * - Every add (steps 1–3) precedes every delete (steps 4–6).
 * - Every identity change of an address (ipcache, steps 2 and 4) and of an endpoint (step 3) happens
 *   while the policy is T, which holds the entries of both the old and the new identities. Limit: such
 *   a connection is decided under T for its old identity before the switch and for its new identity
 *   after — never looser than both states, but a both-allow connection may meet the new policy's
 *   verdict for its OLD identity in that window.
 * Every batch bumps fn_config.generation (Datapath), so established connections are re-decided on
 * their next original-direction packet under the state of that moment (replies and related ICMP
 * errors pass whatever the generation: docs/datapath.md "Conntrack").
 */
import type { CompiledState } from '../compile/types.js';
import type { EndpointEntry, IpcacheEntry, PolicyEntry, PolicyKey } from '../kernel/codecs.js';
import type { Datapath } from '../kernel/datapath.js';
import { planPolicyTransition, type PolicyOp } from './plan-policy-transition.js';

export interface ApplyOptions {
  /** Re-attach every desired endpoint even if its links are pinned (after load() in a restarted
   *  agent: swaps the pinned TCX links to the freshly loaded programs atomically). */
  reattach?: boolean;
}

export interface ApplyReport {
  policy: { raised: number; settled: number; deleted: number };
  ipcache: { upserted: number; deleted: number };
  endpoints: { updated: number; attached: number[]; detached: number[] };
  /** total map entries written or deleted (0 = the maps already held the desired state) */
  writes: number;
  durationMs: number;
}

const sameEndpoint = (a: EndpointEntry, b: EndpointEntry): boolean =>
  a.identity === b.identity &&
  a.defaultDenyIngress === b.defaultDenyIngress &&
  a.defaultDenyEgress === b.defaultDenyEgress &&
  a.auditIngress === b.auditIngress &&
  a.auditEgress === b.auditEgress;

export function applyCompiledState(datapath: Datapath, desired: CompiledState, options: ApplyOptions = {}): ApplyReport {
  const t0 = performance.now();
  const currentPolicy = datapath.listPolicy();
  const currentIpcache = new Map(datapath.listIpcache().map((e) => [e.cidr, e]));
  const currentEndpoints = new Map(datapath.listEndpoints().map((e) => [e.ifindex, e]));
  const attached = new Set(datapath.listAttachedIfindexes());

  const plan = planPolicyTransition(currentPolicy, desired.policy);
  const ipcacheUpserts: IpcacheEntry[] = desired.ipcache.filter((e) => {
    const cur = currentIpcache.get(e.cidr);
    return cur?.identity !== e.identity || cur.newConnectionIdentity !== e.newConnectionIdentity;
  });
  const desiredCidrs = new Set(desired.ipcache.map((e) => e.cidr));
  const ipcacheDeletes = [...currentIpcache.keys()].filter((c) => !desiredCidrs.has(c)).sort();
  const desiredIfindexes = new Set(desired.endpoints.map((e) => e.ifindex));
  const toAttach = desired.endpoints.filter((e) => options.reattach || !attached.has(e.ifindex));
  const attachSet = new Set(toAttach.map((e) => e.ifindex));
  const toUpdate = desired.endpoints.filter((e) => {
    const cur = currentEndpoints.get(e.ifindex);
    return !attachSet.has(e.ifindex) && (!cur || !sameEndpoint(cur, e));
  });
  const toDetach = [...new Set([...currentEndpoints.keys(), ...attached])].filter((i) => !desiredIfindexes.has(i)).sort((a, b) => a - b);

  if (plan.raise.length > 0) datapath.upsertPolicy(plan.raise);
  if (ipcacheUpserts.length > 0) datapath.upsertIpcache(ipcacheUpserts);
  if (toUpdate.length > 0) datapath.upsertEndpoints(toUpdate);
  for (const e of toAttach) datapath.attachEndpoint(e);
  if (ipcacheDeletes.length > 0) datapath.deleteIpcache(ipcacheDeletes);
  runSettle(datapath, plan.settle);
  for (const ifindex of toDetach) datapath.detachEndpoint(ifindex);

  return {
    policy: { raised: plan.raise.length, settled: plan.settle.length, deleted: plan.settle.filter((o) => o.op === 'delete').length },
    ipcache: { upserted: ipcacheUpserts.length, deleted: ipcacheDeletes.length },
    endpoints: { updated: toUpdate.length, attached: toAttach.map((e) => e.ifindex), detached: toDetach },
    writes: plan.raise.length + plan.settle.length + ipcacheUpserts.length + ipcacheDeletes.length + toUpdate.length + toAttach.length + toDetach.length,
    durationMs: performance.now() - t0,
  };
}

/** Executes settle ops in order, batching consecutive ops of one kind (a batch applies in order). */
function runSettle(datapath: Datapath, ops: readonly PolicyOp[]): void {
  let i = 0;
  while (i < ops.length) {
    const kind = ops[i]?.op;
    const upserts: PolicyEntry[] = [];
    const deletes: PolicyKey[] = [];
    for (; i < ops.length && ops[i]?.op === kind; i++) {
      const o = ops[i] as PolicyOp;
      if (o.op === 'upsert') upserts.push(o.entry);
      else deletes.push(o.key);
    }
    if (upserts.length > 0) datapath.upsertPolicy(upserts);
    if (deletes.length > 0) datapath.deletePolicy(deletes);
  }
}
