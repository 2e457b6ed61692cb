/**
 * Bearer token sources for the agent. Contract: a provider returns a raw token string (no "Bearer "
 * prefix) and never logs it; callers must not log it either.
 */
import { readFile, stat } from 'node:fs/promises';

export type TokenProvider = () => Promise<string>;

/** Token from a file (e.g. a projected service-account token or `npm run -s token` output), re-read
 *  whenever its mtime or size changes. Surrounding whitespace is trimmed. */
export function fileTokenProvider(path: string): TokenProvider {
  let cached: { token: string; mtimeMs: number; size: number } | undefined;
  return async () => {
    const s = await stat(path);
    if (cached && cached.mtimeMs === s.mtimeMs && cached.size === s.size) return cached.token;
    const token = (await readFile(path, 'utf8')).trim();
    if (token === '') throw new Error(`token file ${path} is empty`);
    cached = { token, mtimeMs: s.mtimeMs, size: s.size };
    return token;
  };
}

/** Anything with @azure/identity's TokenCredential.getToken shape. */
export interface TokenCredentialLike {
  getToken(scope: string | string[]): Promise<{ token: string; expiresOnTimestamp: number } | null>;
}

export interface WorkloadIdentityOptions {
  /** e.g. api://<fleetnet-api-app-id>/.default */
  scope: string;
  /** injected in tests; default: WorkloadIdentityCredential when AZURE_FEDERATED_TOKEN_FILE is set
   *  (AKS workload identity webhook), else DefaultAzureCredential */
  credential?: TokenCredentialLike;
  /** refresh this long before expiry, ms (default 5 min) */
  refreshMarginMs?: number;
  now?: () => number;
}

/** Entra ID token via @azure/identity (workload identity on AKS), cached until shortly before expiry. */
export function workloadIdentityTokenProvider(options: WorkloadIdentityOptions): TokenProvider {
  const margin = options.refreshMarginMs ?? 5 * 60_000;
  const now = options.now ?? Date.now;
  let credential = options.credential;
  let cached: { token: string; expiresOnTimestamp: number } | undefined;
  return async () => {
    if (cached && cached.expiresOnTimestamp - margin > now()) return cached.token;
    if (!credential) {
      const identity = await import('@azure/identity');
      credential = process.env['AZURE_FEDERATED_TOKEN_FILE']
        ? new identity.WorkloadIdentityCredential()
        : new identity.DefaultAzureCredential();
    }
    const t = await credential.getToken(options.scope);
    if (!t) throw new Error(`no token for scope ${options.scope}`);
    cached = t;
    return t.token;
  };
}
