import { createRemoteJWKSet, type RemoteJWKSetOptions } from 'jose';
import type { AuthConfig } from './auth-config.js';
import { loadOrCreateDevIssuer, type DevIssuer } from './dev-issuer.js';
import { createBearerTokenVerifier, type BearerTokenVerifier } from './verify-bearer-token.js';

export interface Authenticator {
  /** `Authorization` header value → Principal, or throws `unauthorized` (401). */
  verify: BearerTokenVerifier;
  /** Present in dev mode, e.g. to serve `devIssuer.jwks` for other local tools. */
  devIssuer?: DevIssuer;
}

export interface AuthenticatorDeps {
  /** Passed to createRemoteJWKSet (timeouts, cache age, custom fetch). */
  remoteJwks?: RemoteJWKSetOptions;
  clockToleranceSeconds?: number;
}

/**
 * Builds the verifier once at startup; Entra keys are fetched lazily and cached by jose. A relative
 * dev issuer dir resolves against the process's working directory (the repo root under `npm start`).
 */
export async function createAuthenticator(config: AuthConfig, deps: AuthenticatorDeps = {}): Promise<Authenticator> {
  const tolerance = deps.clockToleranceSeconds === undefined ? {} : { clockToleranceSeconds: deps.clockToleranceSeconds };
  if (config.mode === 'entra') {
    const keys = createRemoteJWKSet(new URL(config.jwksUri), deps.remoteJwks);
    return { verify: createBearerTokenVerifier({ issuer: config.issuer, audience: config.audience, keys, ...tolerance }) };
  }
  const devIssuer = await loadOrCreateDevIssuer(config.devIssuerDir);
  const verify = createBearerTokenVerifier({
    issuer: devIssuer.issuer,
    audience: devIssuer.audience,
    keys: devIssuer.keys,
    ...tolerance,
  });
  return { verify, devIssuer };
}
