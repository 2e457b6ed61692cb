/**
 * Phase: what each numeric identity stands for, for flow attribution (pure): reserved identities with
 * their labels; workload identities with labels, namespace, pods, workloads and addresses; CIDR
 * identities with Cilium's labels (`cidr:<prefix>` with IPv6 colons as dashes, and the family's world)
 * and, for a learned address, `fqdn:<selector>` per toFQDNs selector of the bundle selecting it and
 * its learned names. Sorted by id.
 */
import { cidrLabelKey } from '../../../core/policy/resolve/cidr-identities.js';
import { reservedLabel } from '../../../core/policy/resolve/reserved-identities.js';
import { compareAddressTexts } from '../../../core/policy/rules/ip-prefix.js';
import { addressesOf, type IdentityUniverse, type Pod } from './build-identity-universe.js';
import { fqdnLabeller, toFqdnSelectorsOf } from './fqdn-identities.js';
import type { CompileInput, IdentityInfo, Workload } from './types.js';

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function workloadInfo(id: number, labels: readonly string[], members: readonly Pod[]): IdentityInfo {
  const podNames = [...new Set(members.map((x) => x.p.podName))].sort(cmp);
  const workloads = new Map<string, Workload>();
  for (const m of members) if (m.p.workload) workloads.set(`${m.p.workload.kind}/${m.p.workload.name}`, m.p.workload);
  const info: IdentityInfo = { id, kind: 'workload', labels: [...labels], podNames };
  const ns = members[0]?.p.namespace;
  if (ns !== undefined) info.namespace = ns;
  if (workloads.size > 0) info.workloads = [...workloads.entries()].sort((a, b) => cmp(a[0], b[0])).map(([, w]) => ({ name: w.name, kind: w.kind }));
  const ips = new Set(members.flatMap((m) => addressesOf(m.p).map((h) => h.addr)));
  if (ips.size > 0) info.ips = [...ips].sort(compareAddressTexts);
  return info;
}

export function describeIdentities(universe: IdentityUniverse, policies: CompileInput['bundle']['policies']): IdentityInfo[] {
  const membersOf = new Map<number, Pod[]>();
  for (const x of universe.pods) {
    const id = universe.idOf(x.key);
    const list = membersOf.get(id);
    if (list) list.push(x);
    else membersOf.set(id, [x]);
  }
  const out: IdentityInfo[] = universe.identities.map((u) =>
    u.kind === 'reserved' ? { id: u.id, kind: 'reserved', labels: [...u.labels] } : workloadInfo(u.id, u.labels, membersOf.get(u.id) ?? []),
  );
  const learnedByPrefix = new Map(universe.learned.map((a) => [a.prefix.text, a]));
  const fqdnLabelsOf = fqdnLabeller(universe.learned.length > 0 ? toFqdnSelectorsOf(policies) : []);
  for (const c of universe.cidrRefs) {
    const info: IdentityInfo = { id: c.id, kind: 'cidr', labels: [`cidr:${cidrLabelKey(c.cidr)}=`, c.family === 4 ? reservedLabel('world') : reservedLabel('world-ipv6')], cidr: c.cidr };
    const a = learnedByPrefix.get(c.cidr);
    if (a) {
      info.labels = [...info.labels, ...fqdnLabelsOf(a)].sort(cmp);
      info.fqdnNames = [...a.names];
    }
    out.push(info);
  }
  return out.sort((a, b) => a.id - b.id);
}
