import type { Container, OperationInput, OperationResponse, SqlParameter } from '@azure/cosmos';
import type { FlowSummary } from '../../../openapi/types.js';
import type { NodeHourCoverage } from '../../../core/flows/flow-coverage.js';
import { WriteConflictError, type Versioned } from './document-collection.js';
import { decompressSummaries } from './flow-chunk-codec.js';
import { retryAfterSecondsFrom, StoreUnavailableError } from './store-unavailable.js';

/**
 * Storage of flow history: chunk documents in `flows` and node-hour coverage in `flowCoverage`
 * (cosmos-layout.ts). Cosmos system fields never leave this module.
 */

/** What every stored chunk of an agent batch (or of an import) carries besides its summaries. */
export interface FlowChunkHeader {
  id: string;
  /** "<clusterId>|<hour>" */
  pk: string;
  /** "<time>|<clusterId>|<node>|<batchId>|<chunk, 4 digits>": orders chunks by time, then cluster, node, batch. */
  sk: string;
  clusterId: string;
  node: string;
  hour: string;
  /** End of the batch window (normalised ISO time): the time of every summary in the chunk. */
  time: string;
  windowStart: string;
  batchId: string;
  /** Position of the first summary in the batch. */
  first: number;
  origin: 'agent' | 'import';
  /** Seconds until Cosmos deletes the document (retention). */
  ttl: number;
}

/** A chunk as read back, its summaries decompressed. */
export interface FlowChunk extends FlowChunkHeader {
  summaries: FlowSummary[];
}

/** A chunk as written and stored: `count` summaries compressed into `z` (flow-chunk-codec.ts). */
export interface EncodedFlowChunk extends FlowChunkHeader {
  count: number;
  z: string;
}

/** A chunk with its summaries decompressed; `doc` must be free of Cosmos system fields already. */
async function decodeChunk(doc: EncodedFlowChunk): Promise<FlowChunk> {
  const { z, count, ...rest } = doc;
  void count;
  return { ...rest, summaries: await decompressSummaries(z) };
}

const BULK_LIMIT = 100;
const MAX_BULK_ATTEMPTS = 5;
/** Per-operation statuses of a bulk response that are worth another try. */
const TRANSIENT_STATUSES = new Set([408, 429, 449, 503]);

export class FlowChunkStore {
  constructor(private readonly container: Container) {}

  /**
   * Create-only writes through the SDK's bulk API (works on the embedded server, unlike transactional
   * batch). Returns, per chunk, whether it was created now or already existed (409). Operations the bulk
   * response marks throttled or transiently failed (429, 449, 503, 408) are retried after their Retry-After
   * (or a doubling pause); when tries run out they throw StoreUnavailableError. A bulk request that fails
   * as a whole loses its status in the SDK's bulk(), so its chunks are then created one by one: those
   * requests get the SDK's own throttle retries and fail with their real status (store-unavailable.ts).
   * Anything else throws.
   */
  async createAll(chunks: readonly EncodedFlowChunk[]): Promise<Array<'created' | 'exists'>> {
    const outcomes: Array<'created' | 'exists'> = new Array(chunks.length);
    let pending = chunks.map((_, i) => i);
    for (let attempt = 1; pending.length > 0; attempt++) {
      const retry: number[] = [];
      let waitMs = 50 * 2 ** attempt;
      for (let offset = 0; offset < pending.length; offset += BULK_LIMIT) {
        const slice = pending.slice(offset, offset + BULK_LIMIT);
        const operations: OperationInput[] = slice.map((i) => ({ operationType: 'Create', resourceBody: { ...chunks[i]! } }));
        let results: OperationResponse[];
        try {
          results = await this.container.items.bulk(operations, { continueOnError: true });
        } catch {
          // Every create settles before a failure is thrown: no write of this call lands after it has failed.
          const settled = await Promise.allSettled(slice.map(async (index) => (outcomes[index] = await this.createOne(chunks[index]!))));
          const failed = settled.find((result) => result.status === 'rejected');
          if (failed) throw failed.reason;
          continue;
        }
        results.forEach((result, j) => {
          const index = slice[j]!;
          if (result.statusCode === 201) outcomes[index] = 'created';
          else if (result.statusCode === 409) outcomes[index] = 'exists';
          else if (!TRANSIENT_STATUSES.has(result.statusCode)) throw new Error(`bulk create of flow chunk failed with status ${result.statusCode}`);
          else if (attempt >= MAX_BULK_ATTEMPTS) throw bulkOperationUnavailable(result);
          else {
            retry.push(index);
            waitMs = Math.max(waitMs, retryAfterMillisOf(result) ?? 0);
          }
        });
      }
      if (retry.length > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
      pending = retry;
    }
    return outcomes;
  }

  /** One create-only write (a point request: the SDK retries its throttling and reports its status). */
  private async createOne(chunk: EncodedFlowChunk): Promise<'created' | 'exists'> {
    try {
      await this.container.items.create({ ...chunk });
      return 'created';
    } catch (error) {
      if ((error as { code?: unknown }).code === 409) return 'exists';
      throw error;
    }
  }

  /**
   * Chunks of one partition with lower ≤ sk < upper (or sk > lower when `exclusive`), in sk order, at most
   * `limit`. Bound to the partition by the request option and by an explicit filter (the emulator ignores the option).
   */
  async range(pk: string, lower: string, upper: string, limit: number, exclusive = false): Promise<FlowChunk[]> {
    return Promise.all((await this.rangeEncoded(pk, lower, upper, limit, exclusive)).map(decodeChunk));
  }

  /** `range` with the summaries left compressed (scans hand them to decoder threads). */
  async rangeEncoded(pk: string, lower: string, upper: string, limit: number, exclusive = false): Promise<EncodedFlowChunk[]> {
    const parameters: SqlParameter[] = [
      { name: '@pk', value: pk },
      { name: '@lower', value: lower },
      { name: '@upper', value: upper },
      { name: '@limit', value: limit },
    ];
    const comparison = exclusive ? '>' : '>=';
    const { resources } = await this.container.items
      .query<EncodedFlowChunk>({ query: `SELECT TOP @limit * FROM c WHERE c.pk = @pk AND c.sk ${comparison} @lower AND c.sk < @upper ORDER BY c.sk`, parameters }, { partitionKey: pk })
      .fetchAll();
    return resources.map(stripSystemFields);
  }

  /**
   * Chunks of one partition with lower ≤ sk < upper, newest first (descending sk), at most `limit`; with
   * `before`, only those with sk < before (the next page of a newest-first read).
   */
  async latest(pk: string, lower: string, upper: string, limit: number, before?: string): Promise<FlowChunk[]> {
    const parameters: SqlParameter[] = [
      { name: '@pk', value: pk },
      { name: '@lower', value: lower },
      { name: '@upper', value: before !== undefined && before < upper ? before : upper },
      { name: '@limit', value: limit },
    ];
    const { resources } = await this.container.items
      .query<EncodedFlowChunk>({ query: 'SELECT TOP @limit * FROM c WHERE c.pk = @pk AND c.sk >= @lower AND c.sk < @upper ORDER BY c.sk DESC', parameters }, { partitionKey: pk })
      .fetchAll();
    return Promise.all(resources.map(stripSystemFields).map(decodeChunk));
  }

  /** A chunk as stored (tests check ttl and layout). */
  async read(pk: string, id: string): Promise<FlowChunk | undefined> {
    const response = await this.container.item(id, pk).read<EncodedFlowChunk>();
    return response.resource ? decodeChunk(stripSystemFields(response.resource)) : undefined;
  }

  /** The stored document's size in bytes as JSON (tests and docs: what a chunk costs). */
  async storedSize(pk: string, id: string): Promise<number | undefined> {
    const response = await this.container.item(id, pk).read<EncodedFlowChunk>();
    return response.resource ? JSON.stringify(stripSystemFields(response.resource)).length : undefined;
  }
}

interface CoverageDocument {
  id: string;
  clusterId: string;
  hour: string;
  ttl: number;
  body: NodeHourCoverage;
}

export class FlowCoverageStore {
  constructor(private readonly container: Container) {}

  async read(clusterId: string, hour: string, node: string): Promise<Versioned<NodeHourCoverage> | undefined> {
    const response = await this.container.item(coverageId(hour, node), clusterId).read<CoverageDocument>();
    if (response.statusCode === 404 || !response.resource) return undefined;
    return { value: response.resource.body, version: response.resource._etag! };
  }

  /** Create-only (WriteConflictError('exists')) or replace at a version (WriteConflictError('version-mismatch')). */
  async write(value: NodeHourCoverage, ttl: number, ifVersion?: string): Promise<void> {
    const doc: CoverageDocument = { id: coverageId(value.hour, value.node), clusterId: value.clusterId, hour: value.hour, ttl, body: value };
    try {
      if (ifVersion === undefined) await this.container.items.create(doc);
      else await this.container.item(doc.id, doc.clusterId).replace(doc, { accessCondition: { type: 'IfMatch', condition: ifVersion } });
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === 409) throw new WriteConflictError('exists');
      if (code === 412 || code === 404) throw new WriteConflictError('version-mismatch');
      throw error;
    }
  }

  /** Coverage of one cluster for the hour buckets from `firstHour` to `lastHour` (inclusive). */
  async hours(clusterId: string, firstHour: string, lastHour: string): Promise<NodeHourCoverage[]> {
    const { resources } = await this.container.items
      .query<CoverageDocument>(
        {
          query: 'SELECT * FROM c WHERE c.clusterId = @cluster AND c.hour >= @first AND c.hour <= @last',
          parameters: [
            { name: '@cluster', value: clusterId },
            { name: '@first', value: firstHour },
            { name: '@last', value: lastHour },
          ],
        },
        { partitionKey: clusterId },
      )
      .fetchAll();
    return resources.map((doc) => doc.body);
  }

  /** The raw document's ttl (tests: the emulator ignores TTL, so they check that it is set). */
  async ttlOf(clusterId: string, hour: string, node: string): Promise<number | undefined> {
    const response = await this.container.item(coverageId(hour, node), clusterId).read<CoverageDocument>();
    return response.resource?.ttl;
  }
}

const coverageId = (hour: string, node: string): string => `${hour}|${node}`;

/** Cosmos puts `retryAfterMilliseconds` on throttled operations of a bulk response (not in the SDK's type). */
function retryAfterMillisOf(result: OperationResponse): number | undefined {
  const value = (result as OperationResponse & { retryAfterMilliseconds?: unknown }).retryAfterMilliseconds;
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function bulkOperationUnavailable(result: OperationResponse): StoreUnavailableError {
  const fault = result.statusCode === 429 ? 'throttled' : result.statusCode === 408 ? 'timeout' : 'unavailable';
  return new StoreUnavailableError(fault, retryAfterSecondsFrom(retryAfterMillisOf(result)), result.statusCode);
}

const SYSTEM_FIELDS = ['_rid', '_self', '_etag', '_attachments', '_ts'];

function stripSystemFields<T extends object>(doc: T): T {
  const chunk = { ...doc } as Record<string, unknown>;
  for (const field of SYSTEM_FIELDS) delete chunk[field];
  return chunk as unknown as T;
}
