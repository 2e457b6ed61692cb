/**
 * A cluster moving between label groups is never in none of them: the compiler writes groups that gain
 * members before groups that lose some, and removes emptied groups last.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labelGroupKey } from '../../core/bundle/group-manifest.js';
import { DesiredStateCompiler } from '../../functions/src/domain/desired-state/desired-state-compiler.js';
import { createContractClient } from '../helpers/contract-client.js';
import { startTestApi, type TestApi } from '../helpers/api-harness.js';
import { clusterBody } from '../helpers/fixtures.js';

let api: TestApi;

beforeAll(async () => {
  api = await startTestApi();
});
afterAll(async () => api?.close());

describe('compile order when clusters move between label groups', () => {
  it('writes the gaining group, then the losing one, then removes the emptied one', async () => {
    const client = createContractClient(api.baseUrl);
    const put = (id: string, env: string) => client.call('PUT', `/clusters/${id}`, { token: api.tokens.admin, body: clusterBody(id, { env }) });
    await put('mover', 'a');
    await put('stayer', 'a');
    await put('leaver', 'c');
    await api.services.desiredState.settled();
    await api.services.desiredState.close(); // from here on only the compiler below runs

    await put('mover', 'b'); // group a loses it, group b (new) gains it
    await put('leaver', 'b'); // group c empties
    const order: string[] = [];
    const { store, revisions } = api.services;
    const compiler = new DesiredStateCompiler({
      manifests: store.manifests,
      policies: store.policies,
      encryption: store.encryption,
      clusters: store.clusters,
      revisions,
      published: (groupKey, manifest) => order.push(`${manifest ? 'wrote' : 'removed'} ${groupKey}`),
    });
    expect(await compiler.compileAll()).toEqual({ groups: 2, clusters: 3 });
    const [a, b, c] = ['a', 'b', 'c'].map((env) => labelGroupKey({ env }));
    expect(order).toEqual([`wrote ${b}`, `wrote ${a}`, `removed ${c}`]);
  });
});
