/**
 * Last-known-good desired state on disk: `<stateDir>/desired-state.json` = {etag, bundle, savedAt}.
 * Written atomically (temp file in the same directory, fsync, rename, fsync dir), so a crash leaves
 * either the old or the new bundle, never a torn one. Loaded at start so the agent enforces the last
 * bundle it had while the API is unreachable.
 */
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { DesiredState } from '../../../openapi/types.js';

export interface StoredBundle {
  etag: string;
  bundle: DesiredState;
  /** ISO time of the save */
  savedAt: string;
}

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

export async function saveBundle(stateDir: string, etag: string, bundle: DesiredState, now = new Date()): Promise<void> {
  const stored: StoredBundle = { etag, bundle, savedAt: now.toISOString() };
  await writeFileAtomic(join(stateDir, BUNDLE_FILE), JSON.stringify(stored));
}

/** The stored bundle, or undefined when there is none or it is unreadable (logged by the caller). */
export async function loadBundle(stateDir: string): Promise<StoredBundle | undefined> {
  let text: string;
  try {
    text = await readFile(join(stateDir, BUNDLE_FILE), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  const parsed = JSON.parse(text) as Partial<StoredBundle>;
  if (typeof parsed.etag !== 'string' || typeof parsed.bundle !== 'object' || parsed.bundle === null || typeof parsed.bundle.revision !== 'number') {
    throw new Error(`${join(stateDir, BUNDLE_FILE)} is not a stored bundle`);
  }
  return parsed as StoredBundle;
}
