import type {
  FlowAggregationQuery,
  FlowAggregationResult,
  FlowCoverage,
  FlowFilter,
  FlowImportResult,
  FlowIngestResult,
  FlowQuery,
  FlowRecord,
  FlowWindowQuery,
  ServiceGraph,
} from '../../../openapi/types.js';
import { forEachLimited } from '../../../core/async/for-each-limited.js';
import { FlowAggregator } from '../../../core/flows/aggregate-flows.js';
import { addLost, buildCoverage, type LostCounts, type NodeHourCoverage } from '../../../core/flows/flow-coverage.js';
import { compileFlowFilters, type FlowMatcher } from '../../../core/flows/flow-filter.js';
import { hourBucket, hourBuckets, normaliseTime, resolveFlowWindow, type FlowWindow } from '../../../core/flows/flow-time.js';
import { addToRanges, rangesContain } from '../../../core/flows/sequence-ranges.js';
import { ServiceGraphBuilder } from '../../../core/flows/service-graph.js';
import { unpackReplayPart } from '../../../core/policy/replay/packed-replay-part.js';
import { mergeReplayParts, type ReplayPart } from '../../../core/policy/replay/replay-groups.js';
import { ApiError, validationFailed } from '../http/api-error.js';
import { retryOnWriteConflict } from './retry-on-conflict.js';
import type { DecodedHubbleImport } from '../ingest/decode-hubble-import.js';
import type { EncodedSummaryChunk } from '../store/flow-chunk-codec.js';
import type { EncodedFlowChunk, FlowChunkStore, FlowCoverageStore } from '../store/flow-store.js';
import type { FlowDecoder } from '../ingest/flow-decoder.js';
import { flowRecordOf, scanEncodedChunks, scanFlows, type ScanPosition } from './flow-scan.js';
import { parseExampleRef } from '../ingest/fold-flow-chunks.js';

export interface FlowServiceDeps {
  chunks: FlowChunkStore;
  coverage: FlowCoverageStore;
  /** Every registered cluster id (the scope of a query that names no cluster). */
  listClusterIds: () => Promise<string[]>;
  /** Retention of flow documents in seconds (per-document Cosmos ttl). */
  retentionSeconds: number;
  /** Folds pages of stored chunks, on decoder threads (aggregations and the service graph). */
  folds: Pick<FlowDecoder, 'aggregateChunks' | 'graphChunks' | 'replayChunks' | 'countChunks'>;
  now: () => Date;
}

/**
 * A batch as ingest stores it, its summaries already chunked and compressed (encodeSummaryChunks — on a
 * decoder thread for agent batches). Agent batches carry a sequence, imports do not.
 */
export interface EncodedIngestBatch {
  batchId: string;
  sequence?: number | undefined;
  window: { start: string; end: string };
  summaryCount: number;
  chunks: EncodedSummaryChunk[];
  /** Spool drops (batches, summaries) and kernel losses in the window (packets, bytes, flows). */
  lost?: LostCounts | undefined;
}

export const PAGE_LIMITS = { query: { default: 100, max: 1000 }, export: { default: 10_000, max: 100_000 } } as const;
const IMPORT_CONCURRENCY = 8;
/** Pages of chunks being folded at once (each up to 32 chunks ≈ 16,000 summaries). */
const FOLDS_IN_FLIGHT = 4;
/** Chunks per replay fold (≈ 64,000 summaries). */
const REPLAY_CHUNKS_PER_FOLD = 256;

/** Pages joined until each holds at least `min` chunks (the last may hold fewer); as they come when `min` ≤ 0. */
async function* batchedPages(pages: AsyncIterable<EncodedFlowChunk[]>, min: number): AsyncGenerator<EncodedFlowChunk[]> {
  let pending: EncodedFlowChunk[] = [];
  for await (const page of pages) {
    if (min <= 0) {
      yield page;
      continue;
    }
    pending.push(...page);
    if (pending.length >= min) {
      yield pending;
      pending = [];
    }
  }
  if (pending.length > 0) yield pending;
}

/** Flow history: idempotent ingest, Hubble-filter queries, aggregations, service graph, coverage. */
export class FlowService {
  constructor(private readonly deps: FlowServiceDeps) {}

  async ingest(clusterId: string, node: string, batch: EncodedIngestBatch, origin: 'agent' | 'import' = 'agent'): Promise<FlowIngestResult> {
    if (Date.parse(batch.window.start) > Date.parse(batch.window.end)) {
      throw validationFailed([{ pointer: '/window/end', message: 'must not be before window.start', rule: 'window' }]);
    }
    const chunks = chunkDocuments(clusterId, node, batch, origin, this.deps.retentionSeconds);
    const hour = hourBucket(normaliseTime(batch.window.end));
    const outcomes = await this.deps.chunks.createAll(chunks);
    let accepted = 0;
    let duplicates = 0;
    outcomes.forEach((outcome, i) => {
      if (outcome === 'created') accepted += chunks[i]!.count;
      else duplicates += chunks[i]!.count;
    });
    await this.recordCoverage(clusterId, node, hour, batch, origin === 'import' ? accepted : undefined);
    return { batchId: batch.batchId, accepted, duplicates };
  }

  /** Stores a decoded Hubble import (decodeHubbleImport): its batches, then coverage counts of what was new. */
  async importHubble(clusterId: string, decoded: DecodedHubbleImport): Promise<FlowImportResult> {
    let accepted = 0;
    let duplicates = 0;
    let summaries = 0;
    // Batches sharing a node-hour update the same coverage document: one worker takes all of them, in order.
    const groups = new Map<string, DecodedHubbleImport['batches']>();
    for (const entry of decoded.batches) {
      const key = `${entry.node}|${hourBucket(normaliseTime(entry.batch.window.end))}`;
      groups.set(key, [...(groups.get(key) ?? []), entry]);
    }
    const queue = [...groups.values()];
    const worker = async () => {
      for (let group = queue.shift(); group; group = queue.shift()) {
        for (const { node, batch } of group) {
          const result = await this.ingest(clusterId, node, batch, 'import');
          accepted += result.accepted;
          duplicates += result.duplicates;
          summaries += batch.summaryCount;
        }
      }
    };
    await Promise.all(Array.from({ length: IMPORT_CONCURRENCY }, worker));
    return {
      lines: decoded.lines,
      imported: decoded.imported,
      skipped: decoded.skipped.length,
      batches: decoded.batches.length,
      summaries,
      accepted,
      duplicates,
      skippedLines: decoded.skipped.slice(0, 100),
    };
  }

  async query(query: FlowQuery, kind: keyof typeof PAGE_LIMITS): Promise<{ items: FlowRecord[]; continuationToken: string | null; coverage: FlowCoverage }> {
    const limits = PAGE_LIMITS[kind];
    if (query.maxPageSize !== undefined && query.maxPageSize > limits.max) {
      throw validationFailed([{ pointer: '/maxPageSize', message: `must be at most ${limits.max}`, rule: 'maximum' }]);
    }
    const limit = query.maxPageSize ?? limits.default;
    const token = query.continuationToken === undefined ? undefined : decodeFlowToken(query.continuationToken);
    const { window, matches, coverage, records } = await this.prepare(token ? { ...query, since: token.since, until: token.until } : query);
    const items: FlowRecord[] = [];
    let last: ScanPosition | undefined;
    let more = false;
    for await (const entry of scanFlows(this.deps.chunks, window, records, token)) {
      if (!matches(entry.record)) continue;
      if (items.length === limit) {
        more = true;
        break;
      }
      items.push(entry.record);
      last = entry.position;
    }
    const continuationToken = more && last ? encodeFlowToken({ ...window, ...last }) : null;
    return { items, continuationToken, coverage };
  }

  async aggregate(query: FlowAggregationQuery): Promise<FlowAggregationResult> {
    const { window, coverage, records } = await this.prepare(query);
    const groupBy = query.groupBy ?? [];
    const orderBy = query.orderBy ?? 'bytes';
    const aggregator = new FlowAggregator(groupBy);
    const filters = { whitelist: query.whitelist, blacklist: query.blacklist };
    await this.foldWindow(window, records, async (chunks) => aggregator.merge(await this.deps.folds.aggregateChunks(filters, groupBy, chunks)));
    return { groupBy, orderBy, ...aggregator.result(orderBy, query.top), coverage };
  }

  async serviceGraph(query: FlowWindowQuery): Promise<ServiceGraph> {
    const { window, coverage, records } = await this.prepare(query);
    const builder = new ServiceGraphBuilder();
    const filters = { whitelist: query.whitelist, blacklist: query.blacklist };
    await this.foldWindow(window, records, async (chunks) => builder.merge(await this.deps.folds.graphChunks(filters, chunks)));
    return { ...builder.result(), coverage };
  }

  /** Replay's pass 1 over the window's stored summaries the filters match, and the window's coverage. */
  async replayGroups(query: FlowWindowQuery): Promise<{ part: ReplayPart<string>; coverage: FlowCoverage; window: FlowWindow }> {
    const { window, coverage, records } = await this.prepare(query);
    const parts: ReplayPart<string>[] = [];
    const filters = { whitelist: query.whitelist, blacklist: query.blacklist };
    // Larger folds: a part holds a group per distinct key, so fewer, larger parts cost less to pass back and merge.
    await this.foldWindow(window, records, async (chunks) => void parts.push(unpackReplayPart(await this.deps.folds.replayChunks(filters, chunks))), REPLAY_CHUNKS_PER_FOLD);
    return { part: mergeReplayParts(parts), coverage, window };
  }

  /** The stored summaries at replay example positions (fold-flow-chunks.ts exampleRef), by position;
   *  positions whose chunk expired in between are left out. */
  async recordsAt(refs: Iterable<string>): Promise<Map<string, FlowRecord>> {
    const byChunk = new Map<string, { pk: string; id: string; refs: Array<[string, number]> }>();
    for (const ref of refs) {
      const { pk, id, index } = parseExampleRef(ref);
      const k = `${pk}\u0000${id}`;
      const hit = byChunk.get(k) ?? { pk, id, refs: [] };
      hit.refs.push([ref, index]);
      byChunk.set(k, hit);
    }
    const out = new Map<string, FlowRecord>();
    await forEachLimited([...byChunk.values()], 8, async (c) => {
      const chunk = await this.deps.chunks.read(c.pk, c.id);
      if (!chunk) return;
      for (const [ref, index] of c.refs) {
        const summary = chunk.summaries[index];
        if (summary) out.set(ref, flowRecordOf(chunk, summary));
      }
    });
    return out;
  }

  /** Reads and decodes every stored summary of the window the filters match, and counts them: the same
   *  work as replayGroups without replay (what replay's cost is measured against). */
  async countWindow(query: FlowWindowQuery): Promise<number> {
    const { window, records } = await this.prepare(query);
    const filters = { whitelist: query.whitelist, blacklist: query.blacklist };
    let n = 0;
    await this.foldWindow(window, records, async (chunks) => {
      const counted = await this.deps.folds.countChunks(filters, chunks); // read n only after the await: folds run concurrently
      n += counted;
    });
    return n;
  }

  /**
   * Runs `fold` on every page of the window's chunks (pages joined up to `chunksPerFold` chunks, when
   * given), at most FOLDS_IN_FLIGHT at a time, so reading the next pages overlaps folding (on decoder
   * threads) the previous ones. Resolves when every fold has;
   * rejects with the first failure, after the others have settled.
   */
  private async foldWindow(window: FlowWindow, coverage: readonly NodeHourCoverage[], fold: (chunks: EncodedFlowChunk[]) => Promise<void>, chunksPerFold = 0): Promise<void> {
    const inFlight = new Set<Promise<void>>();
    let failure: { error: unknown } | undefined;
    for await (const page of batchedPages(scanEncodedChunks(this.deps.chunks, window, coverage), chunksPerFold)) {
      const task: Promise<void> = fold(page)
        .catch((error: unknown) => void (failure ??= { error }))
        .finally(() => inFlight.delete(task));
      inFlight.add(task);
      if (inFlight.size >= FOLDS_IN_FLIGHT) await Promise.race(inFlight);
      if (failure) break;
    }
    await Promise.all(inFlight);
    if (failure) throw failure.error;
  }

  /** Window, compiled filter, clusters in scope and their coverage records. */
  private async prepare(query: FlowWindowQuery): Promise<{ window: FlowWindow; matches: FlowMatcher; coverage: FlowCoverage; records: NodeHourCoverage[] }> {
    const window = resolveFlowWindow(query, this.deps.now());
    const compiled = compileFlowFilters(query);
    const errors = [...('errors' in window ? window.errors : []), ...('errors' in compiled ? compiled.errors : [])];
    if ('errors' in window || 'errors' in compiled) throw validationFailed(errors, 'The flow query is invalid.');
    const scope = clustersNamedByEveryFilter(query.whitelist) ?? (await this.deps.listClusterIds());
    const hours = hourBuckets(window);
    const records = (await Promise.all(scope.map((cluster) => this.deps.coverage.hours(cluster, hours[0]!, hours.at(-1)!)))).flat();
    return { window, matches: compiled.matches, coverage: buildCoverage(window, scope, records), records };
  }

  /** Node-hour coverage, idempotent per sequence (agents) or by counting only newly stored summaries (imports). */
  private async recordCoverage(clusterId: string, node: string, hour: string, batch: EncodedIngestBatch, importedNow: number | undefined): Promise<void> {
    await retryOnWriteConflict(async () => {
      const current = await this.deps.coverage.read(clusterId, hour, node);
      const base: NodeHourCoverage = current?.value ?? { clusterId, node, hour, ranges: [], batches: 0, summaries: 0, imported: 0, lost: { batches: 0, summaries: 0 } };
      let next: NodeHourCoverage;
      if (importedNow !== undefined) {
        if (importedNow === 0 && current) return;
        next = { ...base, summaries: base.summaries + importedNow, imported: base.imported + importedNow };
      } else {
        const sequence = batch.sequence ?? 0;
        if (rangesContain(base.ranges, sequence)) return;
        next = {
          ...base,
          ranges: addToRanges(base.ranges, sequence),
          batches: base.batches + 1,
          summaries: base.summaries + batch.summaryCount,
          lost: addLost(base.lost, batch.lost),
        };
      }
      await this.deps.coverage.write(next, this.deps.retentionSeconds, current?.version);
    });
  }
}

/** The documents that store a batch's chunks: ids, partition (cluster × hour) and sort keys (flow-store.ts). */
export function chunkDocuments(clusterId: string, node: string, batch: EncodedIngestBatch, origin: 'agent' | 'import', ttl: number): EncodedFlowChunk[] {
  const time = normaliseTime(batch.window.end);
  const hour = hourBucket(time);
  return batch.chunks.map((chunk) => ({
    id: `${batch.batchId}.${chunk.index}`,
    pk: `${clusterId}|${hour}`,
    sk: `${time}|${clusterId}|${node}|${batch.batchId}|${String(chunk.index).padStart(4, '0')}`,
    clusterId,
    node,
    hour,
    time,
    windowStart: normaliseTime(batch.window.start),
    batchId: batch.batchId,
    first: chunk.first,
    origin,
    ttl,
    count: chunk.count,
    z: chunk.z,
  }));
}

/** The clusters a whitelist restricts to, when every entry names some; otherwise undefined (all clusters). */
function clustersNamedByEveryFilter(whitelist: readonly FlowFilter[] | undefined): string[] | undefined {
  if (!whitelist || whitelist.length === 0 || whitelist.some((f) => !f.cluster || f.cluster.length === 0)) return undefined;
  return [...new Set(whitelist.flatMap((f) => f.cluster ?? []))].sort();
}

interface FlowToken extends FlowWindow, ScanPosition {}

/** Opaque to clients: base64url JSON of the window (pinned on the first page) and the last position served. */
export function encodeFlowToken(token: FlowToken): string {
  return Buffer.from(JSON.stringify({ v: 1, ...token }), 'utf8').toString('base64url');
}

function decodeFlowToken(text: string): FlowToken {
  try {
    const t = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as Partial<FlowToken> & { v?: unknown };
    if (t.v === 1 && typeof t.since === 'string' && typeof t.until === 'string' && typeof t.sk === 'string' && typeof t.index === 'number') {
      return { since: t.since, until: t.until, sk: t.sk, index: t.index };
    }
  } catch {
    // fall through
  }
  throw new ApiError(400, 'InvalidContinuationToken', 'The continuation token is not one this API issued.', [
    { pointer: '/continuationToken', message: 'unrecognised token', rule: 'token' },
  ]);
}
