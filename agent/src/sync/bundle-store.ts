/**
 * Last-known-good desired state on disk: `<stateDir>/desired-state.json` = {etag, bundle, savedAt}, where
 * `bundle` is the RESOLVED bundle (a fleetnet.io/v2 manifest whose references were replaced by the
 * verified policy bodies, `ResolvedDesiredState`) and `etag` the ETag of the manifest it came from. So a
 * restart enforces it without the API and without fetching a body, and its first poll is a 304 when the
 * manifest is unchanged.
 *
 * Written atomically (temp file in the same directory, fsync, rename, fsync dir), so a crash leaves
 * either the old or the new bundle, never a torn one.
 *
 * Older files: an agent before format v2 stored the v1 bundle (`apiVersion: fleetnet.io/v1`, the same
 * policy bodies inline). Such a file is LOADED — its bodies are exactly the `BundledPolicy` objects v2
 * resolves to — with `legacyFormat` set (the caller logs a warning) and WITHOUT its ETag, which named a
 * v1 representation: the first poll is unconditional, and bodies whose hashes match the manifest are
 * reused. Any other `apiVersion` is rejected (thrown), so the caller ignores the file with a warning.
 */
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DESIRED_STATE_API_VERSION, type ResolvedDesiredState } from '../../../core/bundle/desired-state-format.js';

export interface StoredBundle {
  /** ETag of the manifest `bundle` was resolved from */
  etag: string;
  bundle: ResolvedDesiredState;
  /** ISO time of the save */
  savedAt: string;
}

/** What loadBundle found. */
export interface LoadedBundle {
  /** absent for a legacy file: its ETag named a v1 representation */
  etag?: string;
  bundle: ResolvedDesiredState;
  savedAt?: string;
  /** set when the file was written in an older format (converted in memory; the next save rewrites it) */
  legacyFormat?: string;
}

/** The format agents before the manifest stored: a bundle with the policy bodies inline. */
export const LEGACY_BUNDLE_API_VERSION = 'fleetnet.io/v1';

export const BUNDLE_FILE = 'desired-state.json';

/** Writes `data` to `path` atomically: temp + fsync + rename + fsync of the directory. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

/** Persists a fully resolved bundle (never a manifest: every policy carries its spec). */
export async function saveBundle(stateDir: string, etag: string, bundle: ResolvedDesiredState, now = new Date()): Promise<void> {
  const stored: StoredBundle = { etag, bundle, savedAt: now.toISOString() };
  await writeFileAtomic(join(stateDir, BUNDLE_FILE), JSON.stringify(stored));
}

/**
 * The stored bundle; undefined when there is none. Throws when the file is unreadable, not a stored
 * bundle, of an unknown format, or holds a policy without its body (the caller logs and ignores it).
 */
export async function loadBundle(stateDir: string): Promise<LoadedBundle | undefined> {
  const path = join(stateDir, BUNDLE_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  const parsed = JSON.parse(text) as { etag?: unknown; bundle?: unknown; savedAt?: unknown };
  const bundle = parsed.bundle as Record<string, unknown> | null | undefined;
  if (typeof parsed.etag !== 'string' || typeof bundle !== 'object' || bundle === null || typeof bundle.revision !== 'number') {
    throw new Error(`${path} is not a stored bundle`);
  }
  const apiVersion = bundle.apiVersion;
  if (apiVersion !== DESIRED_STATE_API_VERSION && apiVersion !== LEGACY_BUNDLE_API_VERSION) {
    throw new Error(`${path} holds desired-state format ${JSON.stringify(apiVersion)}, which this agent does not know (it reads ${DESIRED_STATE_API_VERSION} and ${LEGACY_BUNDLE_API_VERSION})`);
  }
  if (!Array.isArray(bundle.policies) || !bundle.policies.every(isPolicyBody)) {
    throw new Error(`${path} is not a resolved bundle: a policy has no name, generation, mode or spec`);
  }
  const savedAt = typeof parsed.savedAt === 'string' ? { savedAt: parsed.savedAt } : {};
  if (apiVersion === LEGACY_BUNDLE_API_VERSION) {
    return { bundle: { ...(bundle as unknown as ResolvedDesiredState), apiVersion: DESIRED_STATE_API_VERSION }, ...savedAt, legacyFormat: LEGACY_BUNDLE_API_VERSION };
  }
  return { etag: parsed.etag, bundle: bundle as unknown as ResolvedDesiredState, ...savedAt };
}

function isPolicyBody(p: unknown): boolean {
  const b = (typeof p === 'object' && p !== null ? p : {}) as Record<string, unknown>;
  return typeof b.name === 'string' && Number.isInteger(b.generation) && (b.mode === 'enforce' || b.mode === 'audit') && typeof b.spec === 'object' && b.spec !== null;
}
