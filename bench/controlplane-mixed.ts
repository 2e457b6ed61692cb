/**
 * The mixed load of bench/controlplane.ts: `clients` concurrent clients, each looping 40% list / 40% get /
 * 20% PUT over a fixed set of policies, either through the API (HTTP) or as the equivalent store operations
 * with a raw @azure/cosmos client (the floor the API is compared with).
 */
import type { Container } from '@azure/cosmos';
import type { NetworkPolicy } from '../openapi/types.js';
import { revisionOf } from '../functions/src/domain/revision-log.js';
import type { BenchHttpClient } from './controlplane-http.js';

export type Operation = 'list' | 'get' | 'put';

export interface MixedTarget {
  /** One request of kind `op` on policy `name`; resolves true on success. */
  run(op: Operation, name: string): Promise<boolean>;
}

export interface MixedRound {
  /**
   * Requests completed per second: every request issued in the window counts, and the time runs until the
   * last of them finished — so an operation slower than the window still weighs in — unless the round
   * was cut off (see `cutOff`).
   */
  rate: number;
  /** Latencies (ms) of the completed requests, by operation. */
  latencies: Record<Operation, number[]>;
  errors: number;
  /** ms from the start until the last request finished (or the cut-off). */
  elapsedMillis: number;
  /**
   * Requests still in flight `drainSeconds` after the window closed: the round stopped there, and they count
   * neither as completed nor in the time (so `rate` is an upper bound). The server is still working on them.
   */
  cutOff: number;
}

/** Share of each operation in the load (40% list / 40% get / 20% PUT). */
export const MIX: Record<Operation, number> = { list: 0.4, get: 0.4, put: 0.2 };

/** Deterministic per-client choices (mulberry32). */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export interface DriveOptions {
  clients: number;
  /** Window in which clients issue requests (each waits for its answer before the next: a closed loop). */
  seconds: number;
  /** How long after the window requests still in flight are waited for. */
  drainSeconds: number;
  seed: number;
  mix?: Record<Operation, number>;
}

/** Drives `target` for a window of `seconds`, then waits for the requests still in flight (up to drainSeconds). */
export async function driveMixed(target: MixedTarget, names: readonly string[], options: DriveOptions): Promise<MixedRound> {
  const mix = options.mix ?? MIX;
  const latencies: Record<Operation, number[]> = { list: [], get: [], put: [] };
  let completed = 0;
  let errors = 0;
  let inFlight = 0;
  let stopped = false;
  const started = performance.now();
  const deadline = started + options.seconds * 1000;
  const client = async (index: number) => {
    const next = random(options.seed * 1000 + index);
    while (performance.now() < deadline) {
      const roll = next();
      const op: Operation = roll < mix.list ? 'list' : roll < mix.list + mix.get ? 'get' : 'put';
      const name = names[Math.floor(next() * names.length)]!;
      const t0 = performance.now();
      let ok = false;
      inFlight++;
      try {
        ok = await target.run(op, name);
      } catch {
        ok = false;
      }
      inFlight--;
      if (stopped) return;
      if (ok) {
        completed++;
        latencies[op].push(performance.now() - t0);
      } else errors++;
    }
  };
  let timer: NodeJS.Timeout | undefined;
  const cap = new Promise<void>((resolve) => (timer = setTimeout(resolve, (options.seconds + options.drainSeconds) * 1000)));
  await Promise.race([Promise.all(Array.from({ length: options.clients }, (_, index) => client(index))), cap]);
  clearTimeout(timer);
  stopped = true;
  const elapsedMillis = performance.now() - started;
  return { rate: completed / (elapsedMillis / 1000), latencies, errors, elapsedMillis, cutOff: inFlight };
}

/** Through the API: GET /networkpolicies (first page), GET /networkpolicies/{name}, PUT /networkpolicies/{name}. */
export function apiTarget(http: BenchHttpClient, tokens: { admin: string; reader: string }, body: (name: string) => NetworkPolicy, onError: (what: string) => void): MixedTarget {
  return {
    async run(op, name) {
      const answer =
        op === 'list'
          ? await http.request('GET', '/networkpolicies', { token: tokens.reader })
          : op === 'get'
            ? await http.request('GET', `/networkpolicies/${name}`, { token: tokens.reader })
            : await http.request('PUT', `/networkpolicies/${name}`, { token: tokens.admin, body: body(name) });
      if (answer.status === 200 || answer.status === 201) return true;
      onError(`${op} ${answer.status} ${answer.body.toString().slice(0, 200)}`);
      return false;
    },
  };
}

interface PolicyDocument {
  id: string;
  kind: string;
  body: NetworkPolicy;
  _etag?: string;
  [system: string]: unknown;
}

/**
 * The same store operations with a raw @azure/cosmos client, writing documents in the product's shape:
 * list = first page of `SELECT TOP 100 * FROM c WHERE c.kind = @k ORDER BY c.id` in partition NetworkPolicy;
 * get = point read; put = replace with If-Match on the last version seen (on 412: point read, retry), then
 * create the revision document (revisions container, id = zero-padded generation).
 */
export function rawTarget(containers: { resources: Container; revisions: Container }, body: (name: string) => NetworkPolicy, onError: (what: string) => void): MixedTarget {
  const KIND = 'NetworkPolicy';
  const held = new Map<string, PolicyDocument>();
  const read = async (name: string) => {
    const { resource } = await containers.resources.item(name, KIND).read<PolicyDocument>();
    if (!resource) throw new Error(`policy ${name} missing`);
    held.set(name, resource);
    return resource;
  };
  const put = async (name: string): Promise<boolean> => {
    const incoming = body(name);
    for (let attempt = 0; attempt < 32; attempt++) {
      const current = held.get(name) ?? (await read(name));
      const previous = current.body.metadata;
      const now = new Date().toISOString();
      const generation = (previous.generation ?? 1) + 1;
      const metadata = { name, labels: incoming.metadata.labels, generation, createdAt: previous.createdAt, createdBy: previous.createdBy, updatedAt: now, updatedBy: 'oid:bench-raw' };
      const document: PolicyDocument = { id: name, kind: KIND, body: { ...incoming, metadata } as NetworkPolicy };
      try {
        const { resource } = await containers.resources.item(name, KIND).replace<PolicyDocument>(document, { accessCondition: { type: 'IfMatch', condition: current._etag! } });
        if (resource) held.set(name, resource);
      } catch (error) {
        if ((error as { code?: unknown }).code === 412) {
          await read(name);
          continue;
        }
        throw error;
      }
      const revision = revisionOf(KIND, name, generation, 'replace', metadata.updatedBy, now, { spec: incoming.spec, labels: incoming.metadata.labels });
      await containers.revisions.items.create({ id: String(generation).padStart(10, '0'), resourceKey: `${KIND}/${name}`, generation, body: revision });
      return true;
    }
    onError(`put ${name}: 32 lost races`);
    return false;
  };
  return {
    async run(op, name) {
      try {
        if (op === 'get') await read(name);
        else if (op === 'put') return await put(name);
        else {
          const page = await containers.resources.items
            .query<PolicyDocument>({ query: 'SELECT TOP 100 * FROM c WHERE c.kind = @k ORDER BY c.id', parameters: [{ name: '@k', value: KIND }] }, { partitionKey: KIND, maxItemCount: 100 })
            .fetchNext();
          if (page.resources.length === 0) throw new Error('empty list page');
        }
        return true;
      } catch (error) {
        onError(`${op} ${String(error).slice(0, 200)}`);
        return false;
      }
    },
  };
}
