import type { Container, ItemDefinition, SqlParameter } from '@azure/cosmos';

/** A document as the domain sees it: the value plus an opaque version for optimistic concurrency. */
export interface Versioned<T> {
  value: T;
  /**
   * Opaque; changes on every write. Derived from Cosmos `_etag` (which never leaves this module) without
   * the double quotes Cosmos DB puts inside the value, so the HTTP layer can quote it as an ETag.
   */
  version: string;
}

/** A write lost an optimistic-concurrency race or hit an existing id (create-only). */
export class WriteConflictError extends Error {
  constructor(readonly reason: 'exists' | 'version-mismatch' | 'missing') {
    super(`write conflict: ${reason}`);
    this.name = 'WriteConflictError';
  }
}

interface Envelope<T> extends ItemDefinition {
  id: string;
  body: T;
  /** Present (true) on a tombstone: the document of a deleted resource, kept so that deletes reach the change feed. */
  deleted?: true;
}

/** A stored document including tombstones: what a writer needs to continue after a delete. */
export interface StoredEntry<T> extends Versioned<T> {
  /** True when the document is the tombstone of a deleted resource (its value is what the delete left). */
  tombstone: boolean;
}

/**
 * Called with every document this collection wrote (created, replaced, tombstoned), exactly as the server
 * returned it — the shape the Cosmos DB change feed delivers. Hard deletes are not reported (the change feed
 * does not carry them either). The local change driver listens here; in Azure the change feed does.
 */
export type WriteObserver = (document: Record<string, unknown>) => void;

/**
 * One kind of document in one container. Documents are stored as `{ id, <partition field>, ...extra, body }`:
 * the partition field is written by this adapter so callers never handle Cosmos layout or system fields.
 */
export class DocumentCollection<T> {
  constructor(
    private readonly container: Container,
    /** Name of the partition-key property, e.g. "kind" for partition key path "/kind". */
    private readonly partitionField: string,
    private readonly observe: WriteObserver = () => undefined,
  ) {}

  /** The live document (a tombstone reads as absent). */
  async read(partitionKey: string, id: string): Promise<Versioned<T> | undefined> {
    const entry = await this.readEntry(partitionKey, id);
    return entry && !entry.tombstone ? { value: entry.value, version: entry.version } : undefined;
  }

  /** The stored document, tombstone or not. */
  async readEntry(partitionKey: string, id: string): Promise<StoredEntry<T> | undefined> {
    const response = await this.container.item(id, partitionKey).read<Envelope<T>>();
    if (response.statusCode === 404 || !response.resource) return undefined;
    return { ...toVersioned(response.resource), tombstone: response.resource.deleted === true };
  }

  /** Create-only. Throws WriteConflictError('exists') if the id is taken. */
  async create(partitionKey: string, id: string, value: T, extra: Record<string, unknown> = {}): Promise<Versioned<T>> {
    try {
      const { resource } = await this.container.items.create<Envelope<T>>(this.wrap(partitionKey, id, value, extra));
      return this.written(required(resource));
    } catch (error) {
      if (statusOf(error) === 409) throw new WriteConflictError('exists');
      throw error;
    }
  }

  /** Replaces only if the stored version is `ifVersion`. Throws WriteConflictError otherwise. */
  async replace(partitionKey: string, id: string, value: T, ifVersion: string, extra: Record<string, unknown> = {}): Promise<Versioned<T>> {
    return this.replaceEnvelope(partitionKey, id, this.wrap(partitionKey, id, value, extra), ifVersion);
  }

  /**
   * Replaces the document (only at `ifVersion`) with the tombstone `value`: reads and queries no longer see
   * it, readEntry does, and the change feed carries it. Throws WriteConflictError like replace.
   */
  async tombstone(partitionKey: string, id: string, value: T, ifVersion: string): Promise<Versioned<T>> {
    return this.replaceEnvelope(partitionKey, id, { ...this.wrap(partitionKey, id, value, {}), deleted: true }, ifVersion);
  }

  private async replaceEnvelope(partitionKey: string, id: string, envelope: Envelope<T>, ifVersion: string): Promise<Versioned<T>> {
    try {
      const { resource } = await this.container.item(id, partitionKey).replace<Envelope<T>>(envelope, {
        accessCondition: { type: 'IfMatch', condition: toEtag(ifVersion) },
      });
      return this.written(required(resource));
    } catch (error) {
      const status = statusOf(error);
      if (status === 412) throw new WriteConflictError('version-mismatch');
      if (status === 404) throw new WriteConflictError('missing');
      throw error;
    }
  }

  /** Deletes if present (and, with ifVersion, only at that version). Returns false if it was absent. Never observed. */
  async delete(partitionKey: string, id: string, ifVersion?: string): Promise<boolean> {
    try {
      await this.container
        .item(id, partitionKey)
        .delete(ifVersion ? { accessCondition: { type: 'IfMatch', condition: toEtag(ifVersion) } } : undefined);
      return true;
    } catch (error) {
      const status = statusOf(error);
      if (status === 404) return false;
      if (status === 412) throw new WriteConflictError('version-mismatch');
      throw error;
    }
  }

  /**
   * Keyset page within one partition, ordered by id ascending (or descending): ids strictly after
   * `afterId`, at most `limit` of them. Independent of the emulator's continuation-token support.
   */
  async page(partitionKey: string, options: { afterId?: string | undefined; limit: number; descending?: boolean }): Promise<Versioned<T>[]> {
    const order = options.descending ? 'DESC' : 'ASC';
    const comparison = options.descending ? '<' : '>';
    const parameters: SqlParameter[] = [{ name: '@limit', value: options.limit }];
    let filter = '';
    if (options.afterId !== undefined) {
      filter = `AND c.id ${comparison} @after`;
      parameters.push({ name: '@after', value: options.afterId });
    }
    return this.query(
      partitionKey,
      `SELECT TOP @limit * FROM c WHERE c.${this.partitionField} = @partition AND NOT IS_DEFINED(c.deleted) ${filter} ORDER BY c.id ${order}`,
      parameters,
    );
  }

  /** Every live document of one partition (callers bound the partition's size). */
  all(partitionKey: string): Promise<Versioned<T>[]> {
    return this.query(partitionKey, `SELECT * FROM c WHERE c.${this.partitionField} = @partition AND NOT IS_DEFINED(c.deleted)`, []);
  }

  /**
   * Every live document of the container, across partitions (callers bound the container's size). No filter
   * in the query, so it needs no index; tombstones are dropped here.
   */
  async everything(): Promise<Versioned<T>[]> {
    const { resources } = await this.container.items.query<Envelope<T>>('SELECT * FROM c').fetchAll();
    return resources.filter((document) => document.deleted !== true).map(toVersioned);
  }

  /**
   * A query scoped to one partition twice over: by the request option (what Cosmos uses to route it) and
   * by an explicit filter on the partition field (the embedded emulator ignores the option).
   */
  private async query(partitionKey: string, text: string, parameters: SqlParameter[]): Promise<Versioned<T>[]> {
    const { resources } = await this.container.items
      .query<Envelope<T>>({ query: text, parameters: [...parameters, { name: '@partition', value: partitionKey }] }, { partitionKey })
      .fetchAll();
    return resources.map(toVersioned);
  }

  private wrap(partitionKey: string, id: string, value: T, extra: Record<string, unknown>): Envelope<T> {
    return { ...extra, id, [this.partitionField]: partitionKey, body: value };
  }

  private written(document: Envelope<T>): Versioned<T> {
    this.observe(document);
    return toVersioned(document);
  }
}

/** The body of a raw document as the change feed delivers it (Cosmos system fields never leave this module). */
export function changedDocument<T>(document: Record<string, unknown>): { partitionKey: (field: string) => unknown; id: string; value: T; tombstone: boolean } {
  const envelope = document as Envelope<T>;
  return { partitionKey: (field) => document[field], id: envelope.id, value: envelope.body, tombstone: envelope.deleted === true };
}

function toVersioned<T>(doc: Envelope<T>): Versioned<T> {
  return { value: doc.body, version: toVersion(required(doc._etag)) };
}

/**
 * Cosmos DB's `_etag` is a quoted string (`"0000d986-0000-…"`), the embedded emulator's is bare. A version
 * is the bare text; `quotedEtags` remembers which form the server uses so If-Match conditions match it.
 */
let quotedEtags = false;

function toVersion(etag: string): string {
  const quoted = etag.length >= 2 && etag.startsWith('"') && etag.endsWith('"');
  if (quoted) quotedEtags = true;
  return quoted ? etag.slice(1, -1) : etag;
}

function toEtag(version: string): string {
  return quotedEtags ? `"${version}"` : version;
}

function required<V>(value: V | undefined | null): V {
  if (value === undefined || value === null) throw new Error('Cosmos returned no document where one was expected');
  return value;
}

function statusOf(error: unknown): number | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === 'number' ? code : undefined;
  }
  return undefined;
}
