/**
 * Seeding for bench/controlplane.ts. Every document is written by the product through its HTTP API; the
 * one shortcut is where the policies are written. Creating a policy asks the revision log for the highest
 * generation ever recorded (a query), and the embedded store's queries scan their whole container, so
 * seeding 2,000 policies into one database costs time growing with its square (about a minute here, per
 * fleet). So:
 * - the policies are PUT into a few scratch databases (a quarter each, no clusters),
 * - their `resources` and `revisions` documents (what the API wrote, system fields dropped) are copied into
 *   each fleet's database before that fleet's API starts, and the scratch databases are deleted,
 * - then each fleet's clusters, and one node per cluster, are PUT through the fleet's own API: every
 *   cluster write makes the desired-state compiler rebuild the label groups from what is stored, so the
 *   manifests are the product's own, compiled from all the policies. Desired state is never copied.
 */
import type { Container, JSONObject, OperationInput } from '@azure/cosmos';
import type { CosmosContainers } from '../functions/src/store/open-cosmos.js';
import { backgroundPolicy, backgroundPolicyName, clusterBody, clusterId, nodeBody, POLLED_NODE } from './controlplane-fleet.js';
import { forEachLimited, type BenchHttpClient } from './controlplane-http.js';

async function putAll(http: BenchHttpClient, admin: string, paths: Array<[string, unknown]>, concurrency: number): Promise<void> {
  await forEachLimited(paths, concurrency, async ([path, body]) => {
    const answer = await http.request('PUT', path, { token: admin, body });
    if (answer.status !== 200 && answer.status !== 201) throw new Error(`seeding PUT ${path}: HTTP ${answer.status} ${answer.body.toString().slice(0, 300)}`);
  });
}

/** The background policies whose index passes `include` (a shard of them). */
export function seedPolicies(http: BenchHttpClient, admin: string, count: number, concurrency: number, include: (index: number) => boolean = () => true): Promise<void> {
  const indices = Array.from({ length: count }, (_, i) => i).filter(include);
  return putAll(http, admin, indices.map((i) => [`/networkpolicies/${backgroundPolicyName(i)}`, backgroundPolicy(i)]), concurrency);
}

/** The clusters, then one registered node per cluster (`node-1`, the node whose desired state the bench polls). */
export async function seedClusters(http: BenchHttpClient, admin: string, count: number, concurrency: number): Promise<void> {
  await putAll(http, admin, Array.from({ length: count }, (_, i) => [`/clusters/${clusterId(i)}`, clusterBody(i)]), concurrency);
  await putAll(http, admin, Array.from({ length: count }, (_, i) => [`/clusters/${clusterId(i)}/nodes/${POLLED_NODE}`, nodeBody(POLLED_NODE)]), concurrency);
}

const SYSTEM_FIELDS = ['_rid', '_self', '_etag', '_ts', '_attachments'];

/** Copies every document of `from` into each of `to` (creates; system fields dropped). Returns the count per target. */
export async function copyDocuments(from: Container, to: readonly Container[]): Promise<number> {
  const { resources } = await from.items.readAll<Record<string, unknown>>().fetchAll();
  const documents = resources.map((document) => Object.fromEntries(Object.entries(document).filter(([key]) => !SYSTEM_FIELDS.includes(key))));
  const batches = Array.from({ length: Math.ceil(documents.length / 100) }, (_, i) => documents.slice(i * 100, i * 100 + 100));
  for (const target of to) {
    await forEachLimited(batches, 4, async (batch) => {
      const operations: OperationInput[] = batch.map((resourceBody) => ({ operationType: 'Create', resourceBody: resourceBody as JSONObject }));
      const results = await target.items.bulk(operations);
      const failed = results.find((result) => result.statusCode >= 300);
      if (failed) throw new Error(`copying into ${target.id}: status ${failed.statusCode}`);
    });
  }
  return documents.length;
}

/** A scratch database's policies and their revisions into each fleet's database. */
export async function copyPolicies(scratch: CosmosContainers, fleets: readonly CosmosContainers[]): Promise<number> {
  const policies = await copyDocuments(scratch.resources, fleets.map((fleet) => fleet.resources));
  await copyDocuments(scratch.revisions, fleets.map((fleet) => fleet.revisions));
  return policies;
}
