/**
 * Manifest → resolved bundle: replaces each policy reference of a desired-state manifest (format
 * fleetnet.io/v2) by the policy body it names.
 *
 * Contract:
 *   - a body the agent already holds (`held`: the bundle it enforces, bodies verified earlier) is reused
 *     when its name, generation and content hash (`bundledPolicyHash`, computed here, never trusted from
 *     disk) equal the reference's — an unchanged policy costs no request;
 *   - the others are fetched with `fetchPolicy`, at most `concurrency` at a time (default 8), and each is
 *     checked: name, generation and mode equal the reference's and its hash equals `contentHash`. A
 *     mismatch is an ApiError `PolicyContentMismatch`; that body is never returned;
 *   - a 404 for a body (the cluster's current manifest stopped listing that generation while it was being
 *     resolved) is an ApiError `PolicyGenerationGone` (retryable: poll the manifest again);
 *   - all or nothing: any failure rejects, and nothing partially resolved leaves this function. Fetches
 *     still in flight are awaited before it rejects, none is started after the first failure;
 *   - the result keeps the manifest's order and every field of the manifest except `policies`.
 */
import { forEachLimited } from '../../../core/async/for-each-limited.js';
import { bundledPolicyHash } from '../../../core/bundle/bundled-policy.js';
import type { ResolvedDesiredState } from '../../../core/bundle/desired-state-format.js';
import type { BundledPolicy, DesiredState, PolicyReference } from '../../../openapi/types.js';
import { ApiError, SyncErrorCode } from './api-client.js';

export interface ResolveManifestOptions {
  /** bodies the agent holds; any of them may be stale or foreign — only exact (name, generation, hash) matches are used */
  held: Iterable<BundledPolicy>;
  /** GET …/desiredstate/policies/{name}/{generation} */
  fetchPolicy: (name: string, generation: number) => Promise<BundledPolicy>;
  /** called with each fetched body once it has been verified (a caller may keep it for a retry) */
  onVerified?: (body: BundledPolicy) => void;
  /** parallel fetches, default 8 */
  concurrency?: number;
}

export interface ResolvedManifest {
  bundle: ResolvedDesiredState;
  /** references served from `held` */
  reused: number;
  /** references fetched */
  fetched: number;
}

export const DEFAULT_RESOLVE_CONCURRENCY = 8;

/** Hashes of bodies already hashed: a held body is the same object poll after poll, and immutable. */
const hashes = new WeakMap<BundledPolicy, string>();

/** `bundledPolicyHash`, memoized per object. Bodies are never mutated once received. */
export function hashOf(body: BundledPolicy): string {
  let h = hashes.get(body);
  if (h === undefined) {
    h = bundledPolicyHash(body);
    hashes.set(body, h);
  }
  return h;
}

const keyOf = (name: string, generation: number, contentHash: string) => `${name}\n${generation}\n${contentHash}`;

export async function resolveManifest(manifest: DesiredState, options: ResolveManifestOptions): Promise<ResolvedManifest> {
  const byKey = new Map<string, BundledPolicy>();
  for (const body of options.held) byKey.set(keyOf(body.name, body.generation, hashOf(body)), body);

  const refs = manifest.policies;
  const bodies: (BundledPolicy | undefined)[] = refs.map((ref) => byKey.get(keyOf(ref.name, ref.generation, ref.contentHash)));
  const missing = refs.flatMap((ref, index) => (bodies[index] === undefined ? [index] : []));
  const reused = refs.length - missing.length;

  await forEachLimited(missing, options.concurrency ?? DEFAULT_RESOLVE_CONCURRENCY, async (index) => {
    const body = await fetchChecked(refs[index]!, options.fetchPolicy);
    bodies[index] = body;
    options.onVerified?.(body);
  });

  const { policies: _references, ...rest } = manifest;
  return { bundle: { ...rest, policies: bodies as BundledPolicy[] }, reused, fetched: missing.length };
}

async function fetchChecked(ref: PolicyReference, fetchPolicy: ResolveManifestOptions['fetchPolicy']): Promise<BundledPolicy> {
  let body: BundledPolicy;
  try {
    body = await fetchPolicy(ref.name, ref.generation);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      throw new ApiError(
        `policy ${ref.name} generation ${ref.generation} is no longer in the cluster's desired state (it changed while being fetched); polling the manifest again: ${e.message}`,
        404,
        { ...(e.retryAfterMs === undefined ? {} : { retryAfterMs: e.retryAfterMs }), code: SyncErrorCode.PolicyGenerationGone, retryable: true },
      );
    }
    throw e;
  }
  const mismatch = describeMismatch(ref, body);
  if (mismatch) {
    throw new ApiError(
      `policy ${ref.name} generation ${ref.generation}: the body served ${mismatch}; it is not enforced (the previous bundle stays enforced)`,
      200,
      { code: SyncErrorCode.PolicyContentMismatch },
    );
  }
  return body;
}

function describeMismatch(ref: PolicyReference, body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return 'is not an object';
  const b = body as BundledPolicy;
  if (b.name !== ref.name) return `is named ${JSON.stringify(b.name)}`;
  if (b.generation !== ref.generation) return `has generation ${JSON.stringify(b.generation)}`;
  if (b.mode !== ref.mode) return `has mode ${JSON.stringify(b.mode)} where the manifest lists ${ref.mode}`;
  if (typeof b.spec !== 'object' || b.spec === null) return 'has no spec';
  const actual = hashOf(b);
  if (actual !== ref.contentHash) return `hashes to ${actual}, not the manifest's contentHash ${ref.contentHash}`;
  return undefined;
}
