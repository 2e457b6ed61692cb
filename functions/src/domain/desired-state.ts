import type { Cluster, EncryptionSettings, NetworkPolicy } from '../../../openapi/types.js';
import type { DocumentCollection } from '../store/document-collection.js';
import { DesiredStateCompiler } from './desired-state/desired-state-compiler.js';
import { DesiredStateReader } from './desired-state/desired-state-reader.js';
import { LocalChangeDriver } from './desired-state/local-change-driver.js';
import type { ManifestStore } from './desired-state/manifest-store.js';
import type { RevisionLog } from './revision-log.js';

/**
 * Desired state, end to end: the compiler (run by the change feed of `resources`), the reader (agents'
 * polls and policy bodies) and, where no Functions trigger runs, the in-process driver of the compiler.
 */
export interface DesiredStateService {
  compiler: DesiredStateCompiler;
  reader: DesiredStateReader;
  /** The WriteObserver the `resources` collections report to (a no-op when a Functions trigger drives the compiler). */
  observeWrite: (document: Record<string, unknown>) => void;
  /** Resolves once every write reported so far is compiled (immediately when a Functions trigger drives the compiler). */
  settled(): Promise<void>;
  close(): Promise<void>;
}

export interface DesiredStateServiceOptions {
  manifests: ManifestStore;
  policies: DocumentCollection<NetworkPolicy>;
  encryption: DocumentCollection<EncryptionSettings>;
  clusters: DocumentCollection<Cluster>;
  revisions: RevisionLog;
  cacheMillis: number;
  /** 'in-process': compile from the local driver; 'functions-trigger': the Cosmos DB trigger calls compiler.applyChanges. */
  changeFeed: 'in-process' | 'functions-trigger';
  log?: (message: string) => void;
}

export function createDesiredStateService(options: DesiredStateServiceOptions): DesiredStateService {
  const reader = new DesiredStateReader(options);
  const compiler = new DesiredStateCompiler({ ...options, published: (groupKey, manifest) => reader.manifestStored(groupKey, manifest) });
  if (options.changeFeed === 'functions-trigger') {
    return { compiler, reader, observeWrite: () => undefined, settled: async () => undefined, close: async () => undefined };
  }
  const driver = new LocalChangeDriver(
    (documents) => compiler.applyChanges(documents),
    (error, attempt) => options.log?.(`desired-state compile failed (attempt ${attempt}, retrying): ${(error as Error).message}`),
  );
  return { compiler, reader, observeWrite: driver.notify, settled: () => driver.settled(), close: () => driver.close() };
}
