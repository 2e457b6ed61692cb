import { describe, expect, it } from 'vitest';
import type { BundledPolicy, FlowExplainRequest } from '../../../openapi/types.js';
import { ApiError } from '../http/api-error.js';
import type { DesiredStateLookup } from './desired-state/desired-state-reader.js';
import { ExplainService } from './explain.js';

const POLICY: BundledPolicy = { name: 'p', generation: 1, mode: 'enforce', spec: { endpointSelector: { matchLabels: { app: 'db' } }, ingress: [{ fromEndpoints: [{ matchLabels: { app: 'api' } }] }] } };
const REQUEST: FlowExplainRequest = { source: { workload: { namespace: 'shop', labels: { app: 'api' } } }, destination: { workload: { namespace: 'shop', labels: { app: 'db' } } }, protocol: 'TCP', port: 80, localhostPolicy: false };
const MANIFEST: DesiredStateLookup = {
  found: 'manifest',
  agentIdentities: [],
  etag: 'g.1',
  view: () => ({ apiVersion: 'fleetnet.io/v2', kind: 'DesiredState', clusterId: 'c1', revision: 4, policies: [{ name: 'p', generation: 1, mode: 'enforce', contentHash: 'a'.repeat(64) }], encryption: {} as never }),
};

/** An ExplainService over in-memory fakes of its ports; `reads` counts policy-body reads. */
function service(lookup: DesiredStateLookup, body: BundledPolicy | null = POLICY) {
  const reads = { bodies: 0 };
  const explain = new ExplainService({
    reader: { lookup: async () => lookup, bundledPolicy: async () => (reads.bodies++, body ?? undefined) },
    nodes: { all: async () => [] },
    chunks: { latest: async () => [] },
    coverage: { hours: async () => [] },
    now: () => new Date('2026-11-30T12:00:00Z'),
  });
  return { explain, reads };
}

const rejection = async (promise: Promise<unknown>): Promise<ApiError> => {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(ApiError);
  return error as ApiError;
};

describe('ExplainService', () => {
  it('answers from the view and reads each policy body once per view', async () => {
    const { explain, reads } = service(MANIFEST);
    expect((await explain.explain('c1', REQUEST)).verdict).toBe('forwarded');
    expect((await explain.explain('c1', { ...REQUEST, source: { workload: { namespace: 'shop', labels: { app: 'web' } } } })).verdict).toBe('dropped');
    expect(reads.bodies).toBe(1);
  });

  it.each<{ name: string; lookup: DesiredStateLookup; body: BundledPolicy | null; want: [number, string, string | undefined] }>([
    { name: 'an unknown cluster', lookup: { found: 'none' }, body: POLICY, want: [404, 'NotFound', undefined] },
    { name: 'a cluster not compiled yet', lookup: { found: 'pending', agentIdentities: [] }, body: POLICY, want: [404, 'DesiredStatePending', '1'] },
    { name: 'a body the manifest lists but the store lacks', lookup: MANIFEST, body: null, want: [503, 'ServiceUnavailable', '1'] },
  ])('$name → $want', async ({ lookup, body, want }) => {
    const error = await rejection(service(lookup, body).explain.explain('c1', REQUEST));
    expect([error.status, error.code, error.headers['Retry-After']]).toEqual(want);
  });

  it('checks the input before reading anything', async () => {
    const { explain, reads } = service(MANIFEST);
    const error = await rejection(explain.explain('c1', { ...REQUEST, protocol: 'ICMPv6', port: 256 }));
    expect([error.status, error.errors.map((e) => e.pointer)]).toEqual([400, ['/port']]);
    expect(reads.bodies).toBe(0);
  });

  it('a pod with no history: 422 PodNotFound at the side', async () => {
    const error = await rejection(service(MANIFEST).explain.explain('c1', { ...REQUEST, source: { pod: 'shop/api-1' } }));
    expect([error.status, error.code, error.errors.map((e) => e.pointer)]).toEqual([422, 'PodNotFound', ['/source/pod']]);
  });
});
