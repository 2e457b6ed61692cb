import { decodeJwt } from 'jose';
import type { Principal } from './principal.js';
import type { BearerTokenVerifier } from './verify-bearer-token.js';

export interface TokenCacheOptions {
  /** Upper bound on how long a verified token is trusted without re-verifying, in ms. */
  maxAgeMillis: number;
  /** Entries kept; the oldest is evicted first. */
  maxEntries: number;
  now?: () => number;
}

/**
 * Wraps a verifier so an agent polling with the same token is verified once per maxAgeMillis instead of
 * on every request. A cached entry never outlives the token's own `exp`. Keys are the Authorization
 * header values themselves (the process holds them while serving anyway; hashing each request's header
 * cost more than the rest of the 304 path). Failures are never cached.
 */
export function cacheVerifiedTokens(verify: BearerTokenVerifier, options: TokenCacheOptions): BearerTokenVerifier {
  const now = options.now ?? Date.now;
  const entries = new Map<string, { principal: Principal; validUntil: number }>();
  return async (header) => {
    if (!header) return verify(header);
    const key = header;
    const cached = entries.get(key);
    if (cached && now() < cached.validUntil) return cached.principal;
    entries.delete(key);
    const principal = await verify(header);
    const expiresAt = (decodeJwt(header.replace(/^Bearer\s+/i, '')).exp ?? 0) * 1000;
    if (entries.size >= options.maxEntries) entries.delete(entries.keys().next().value!);
    entries.set(key, { principal, validUntil: Math.min(now() + options.maxAgeMillis, expiresAt) });
    return principal;
  };
}
