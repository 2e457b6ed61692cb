import type { Container, OperationInput, SqlParameter } from '@azure/cosmos';
import type { FlowSummary } from '../../../openapi/types.js';
import type { NodeHourCoverage } from '../../../core/flows/flow-coverage.js';
import { WriteConflictError, type Versioned } from './document-collection.js';
import { decompressSummaries } from './flow-chunk-codec.js';

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

export class FlowChunkStore {
  constructor(private readonly container: Container) {}

  /**
   * Create-only writes through the SDK's bulk API (works on the embedded server, unlike transactional
   * batch). Returns, per chunk, whether it was created now or already existed (409). Throttled or
   * transiently failed operations (429, 449, 503, 408) are retried; anything else throws.
   */
  async createAll(chunks: readonly EncodedFlowChunk[]): Promise<Array<'created' | 'exists'>> {
    const outcomes: Array<'created' | 'exists'> = new Array(chunks.length);
    let pending = chunks.map((_, i) => i);
    for (let attempt = 1; pending.length > 0; attempt++) {
      const retry: number[] = [];
      for (let offset = 0; offset < pending.length; offset += BULK_LIMIT) {
        const slice = pending.slice(offset, offset + BULK_LIMIT);
        const operations: OperationInput[] = slice.map((i) => ({ operationType: 'Create', resourceBody: { ...chunks[i]! } }));
        const results = await this.container.items.bulk(operations, { continueOnError: true });
        results.forEach((result, j) => {
          const index = slice[j]!;
          if (result.statusCode === 201) outcomes[index] = 'created';
          else if (result.statusCode === 409) outcomes[index] = 'exists';
          else if ([408, 429, 449, 503].includes(result.statusCode) && attempt < MAX_BULK_ATTEMPTS) retry.push(index);
          else throw new Error(`bulk create of flow chunk failed with status ${result.statusCode}`);
        });
      }
      if (retry.length > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
      pending = retry;
    }
    return outcomes;
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

const SYSTEM_FIELDS = ['_rid', '_self', '_etag', '_attachments', '_ts'];

function stripSystemFields<T extends object>(doc: T): T {
  const chunk = { ...doc } as Record<string, unknown>;
  for (const field of SYSTEM_FIELDS) delete chunk[field];
  return chunk as unknown as T;
}
