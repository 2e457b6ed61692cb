/**
 * applyCompiledState — reconciles the datapath's maps with a CompiledState. Reads what the maps hold
 * (never flushes: a restarted agent converges from whatever is pinned), then writes in this order:
 *
 *   1. policy raise     (old → T = max(old, new), see plan-policy-transition.ts)
 *   2. ipcache upsert   (new prefixes and changed identities)
 *   3. endpoints        (changed entries updated; newly seen ifindexes: entry written, then attached)
 *   4. policy settle    (T → new: new values and deletes of old-only keys, in the planned order)
 *   5. ipcache delete   (stale prefixes)
 *   6. detach           (ifindexes that are no longer desired: links removed, entry deleted)
 *
 * Ordering argument (no connection that both the old and the new state allow is dropped, none that
 * both deny passes):
 * - For a connection whose local and peer identities are the same in both states, only the policy
 *   map decides between old and new. By the T argument, during steps 1–3 every decision lies between
 *   the old one and T = max(old, new) by rank, during steps 4–5 between the new one and T; a both-deny
 *   is ≥ deny throughout, a both-allow never reaches deny and never loses its match while the
 *   endpoint's default-deny bit is set. Endpoint bits change in step 3, while the policy is T: a
 *   both-allow has T = allow (so the bit is irrelevant) or no match in both states (then the bit was
 *   clear in both); a both-deny either has T = deny or no match and the bit set in both states.
 * - A newly seen endpoint is attached only after its entry, and the policy of its identity (new ∪ old
 *   = new for a new identity), are in place, so its first packet is decided by the new policy.
 * - Entries leave last (steps 4–6), after everything that replaces them is written.
 * - Limit (documented in docs/agent.md): when a pod's identity changes (relabelled pod, or a new CIDR
 *   prefix re-identifying addresses), its connections switch identity atomically in step 2/3 and are
 *   decided under T for the old identity before and T for the new one after — never looser than both
 *   states, but a both-allow connection may see the new policy's verdict for the OLD identity.
 * Every batch bumps fn_config.generation (Datapath), so established connections are re-decided on
 * their next packet under the state of that moment.
 */
import type { Datapath } from '../kernel/datapath.js';
import type { EndpointEntry, IpcacheEntry } from '../kernel/codecs.js';
import type { CompiledState } from '../compile/types.js';
import type { PolicyEntry, PolicyKey } from '../kernel/codecs.js';
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
  const currentIpcache = new Map(datapath.listIpcache().map((e) => [e.cidr, e.identity]));
  const currentEndpoints = new Map(datapath.listEndpoints().map((e) => [e.ifindex, e]));
  const attached = new Set(datapath.listAttachedIfindexes());

  const plan = planPolicyTransition(currentPolicy, desired.policy);
  const ipcacheUpserts: IpcacheEntry[] = desired.ipcache.filter((e) => currentIpcache.get(e.cidr) !== e.identity);
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
  runSettle(datapath, plan.settle);
  if (ipcacheDeletes.length > 0) datapath.deleteIpcache(ipcacheDeletes);
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
