import { describe, expect, it } from 'vitest';
import { ApiError } from '../http/api-error.js';
import { describeActor, requireAdmin, requireClusterAgent, requireReader } from './authorize.js';
import type { FleetRole, Principal } from './principal.js';

const AGENT_OID = 'aaaaaaaa-0000-0000-0000-000000000001';
const AGENT_APP = 'bbbbbbbb-0000-0000-0000-000000000002';
const OTHER_OID = 'cccccccc-0000-0000-0000-000000000003';

const principal = (roles: FleetRole[], ids: Partial<Principal> = {}): Principal => ({ subject: 's', roles, ...ids });

/** undefined when allowed, else the 403 message. */
function outcome(check: () => void): string | undefined {
  try {
    check();
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(403);
    expect((error as ApiError).code).toBe('Forbidden');
    return (error as ApiError).message;
  }
}

describe('requireReader / requireAdmin', () => {
  const cases: { roles: FleetRole[]; reader: RegExp | undefined; admin: RegExp | undefined }[] = [
    { roles: ['Fleet.Admin'], reader: undefined, admin: undefined },
    { roles: ['Fleet.Reader'], reader: undefined, admin: /Fleet\.Admin role/ },
    { roles: ['Fleet.Agent'], reader: /Fleet\.Reader or Fleet\.Admin/, admin: /Fleet\.Admin role/ },
    { roles: [], reader: /Fleet\.Reader or Fleet\.Admin/, admin: /Fleet\.Admin role/ },
    { roles: ['Fleet.Reader', 'Fleet.Agent'], reader: undefined, admin: /Fleet\.Admin role/ },
  ];
  it.each(cases)('roles $roles', ({ roles, reader, admin }) => {
    const p = principal(roles);
    const gotReader = outcome(() => requireReader(p));
    const gotAdmin = outcome(() => requireAdmin(p));
    if (reader === undefined) expect(gotReader).toBeUndefined();
    else expect(gotReader).toMatch(reader);
    if (admin === undefined) expect(gotAdmin).toBeUndefined();
    else expect(gotAdmin).toMatch(admin);
  });
});

describe('requireClusterAgent', () => {
  const cluster = { id: 'aks-weu-1', agentIdentities: [AGENT_OID, AGENT_APP] };
  const otherCluster = { id: 'aks-neu-2', agentIdentities: [OTHER_OID] };

  const cases: { name: string; p: Principal; c: typeof cluster; want: RegExp | undefined }[] = [
    { name: 'agent, oid bound', p: principal(['Fleet.Agent'], { objectId: AGENT_OID }), c: cluster, want: undefined },
    { name: 'agent, appId bound', p: principal(['Fleet.Agent'], { objectId: OTHER_OID, appId: AGENT_APP }), c: cluster, want: undefined },
    { name: 'agent, oid bound, other case', p: principal(['Fleet.Agent'], { objectId: AGENT_OID.toUpperCase() }), c: cluster, want: undefined },
    { name: 'agent of another cluster', p: principal(['Fleet.Agent'], { objectId: AGENT_OID }), c: otherCluster, want: /not an agent of cluster 'aks-neu-2'/ },
    { name: 'agent without ids', p: principal(['Fleet.Agent']), c: cluster, want: /not an agent of cluster 'aks-weu-1'/ },
    { name: 'agent, only subject matches', p: principal(['Fleet.Agent'], { subject: AGENT_OID }), c: cluster, want: /not an agent/ },
    { name: 'bound id without Fleet.Agent role', p: principal([], { objectId: AGENT_OID }), c: cluster, want: /Fleet\.Agent or Fleet\.Admin role/ },
    { name: 'reader', p: principal(['Fleet.Reader'], { objectId: AGENT_OID }), c: cluster, want: /Fleet\.Agent or Fleet\.Admin role/ },
    { name: 'admin, not bound', p: principal(['Fleet.Admin'], { objectId: OTHER_OID }), c: cluster, want: undefined },
  ];

  it.each(cases)('$name', ({ p, c, want }) => {
    const got = outcome(() => requireClusterAgent(p, c));
    if (want === undefined) expect(got).toBeUndefined();
    else expect(got).toMatch(want);
  });

  it("never reveals another cluster's data", () => {
    const got = outcome(() => requireClusterAgent(principal(['Fleet.Agent'], { objectId: OTHER_OID }), cluster));
    expect(got).toBeDefined();
    for (const secret of [AGENT_OID, AGENT_APP, OTHER_OID, otherCluster.id]) expect(got).not.toContain(secret);
  });
});

describe('describeActor', () => {
  it.each([
    { p: principal([], { subject: 's1', objectId: 'o1', appId: 'a1' }), want: 'oid:o1' },
    { p: principal([], { subject: 's1', appId: 'a1' }), want: 'app:a1' },
    { p: principal([], { subject: 's1' }), want: 'sub:s1' },
  ])('$want', ({ p, want }) => {
    expect(describeActor(p)).toBe(want);
  });
});
