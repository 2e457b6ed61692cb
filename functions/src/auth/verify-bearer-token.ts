import { errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { unauthorized } from '../http/api-error.js';
import { FLEET_ROLES, type FleetRole, type Principal } from './principal.js';

export interface BearerTokenVerifierOptions {
  /** Exact `iss` value(s) accepted, e.g. `https://login.microsoftonline.com/<tenant>/v2.0`. */
  issuer: string | string[];
  /** Accepted `aud` value(s), e.g. `api://fleetnet` and/or the API app's client id. */
  audience: string | string[];
  /** Key resolver: `createRemoteJWKSet` (Entra) or `createLocalJWKSet` (dev issuer). */
  keys: JWTVerifyGetKey;
  /** Allowed clock skew for `exp`/`nbf`/`iat`, in seconds. Default 60. */
  clockToleranceSeconds?: number;
}

/**
 * Turns an `Authorization` header value into a Principal. Resolves only for a JWS signed with
 * RS256/ES256 by a key from `keys`, with matching `iss` and `aud`, an unexpired `exp`, a reached
 * `nbf` (if any) and a `sub`. Any token problem rejects with `unauthorized(reason)` (401); reasons
 * never contain the token. Failures to fetch the key set are not the caller's fault and are rethrown
 * as they are (they become a 500 at the error boundary).
 */
export type BearerTokenVerifier = (authorizationHeader: string | null | undefined) => Promise<Principal>;

/** Entra issues RS256; the dev issuer ES256. Everything else (none, HS*, PS*, …) is refused. */
export const ACCEPTED_ALGORITHMS = ['RS256', 'ES256'];

/** Upper bound on the header length we parse (Entra tokens with many groups stay well below). */
const MAX_HEADER_LENGTH = 16 * 1024;

const BEARER = /^Bearer[ ]+([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)[ ]*$/i;
const SCHEME = /^([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)(?:[ ]|$)/;

export function createBearerTokenVerifier(options: BearerTokenVerifierOptions): BearerTokenVerifier {
  const { issuer, audience, keys, clockToleranceSeconds = 60 } = options;
  return async (authorizationHeader) => {
    const token = extractBearerToken(authorizationHeader);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer,
        audience,
        algorithms: ACCEPTED_ALGORITHMS,
        clockTolerance: clockToleranceSeconds,
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (error) {
      throw toUnauthorized(error);
    }
    return toPrincipal(payload);
  };
}

/** The compact JWS from `Bearer <token>` (scheme case-insensitive, RFC 9110 §11.1). */
export function extractBearerToken(authorizationHeader: string | null | undefined): string {
  const header = authorizationHeader?.trim() ?? '';
  if (header === '') throw unauthorized('A bearer token is required.');
  if (header.length > MAX_HEADER_LENGTH) throw unauthorized('The bearer token is malformed.');
  const match = BEARER.exec(header);
  if (match?.[1] !== undefined) return match[1];
  const scheme = SCHEME.exec(header)?.[1];
  if (scheme !== undefined && scheme.toLowerCase() !== 'bearer') {
    throw unauthorized('The Authorization scheme must be Bearer.');
  }
  throw unauthorized('The bearer token is malformed.');
}

const JWKS_FETCH_FAILURES = new Set(['ERR_JWKS_TIMEOUT', 'ERR_JWKS_INVALID']);

function toUnauthorized(error: unknown): unknown {
  if (!(error instanceof errors.JOSEError)) return error;
  if (JWKS_FETCH_FAILURES.has(error.code)) return error;
  switch (error.code) {
    case 'ERR_JWT_EXPIRED':
      return unauthorized('The token has expired.');
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return unauthorized(claimReason(error as errors.JWTClaimValidationFailed));
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return unauthorized('The token signature is not valid.');
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return unauthorized('The token signing algorithm is not accepted.');
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      return unauthorized('The bearer token is malformed.');
    default:
      return unauthorized('The token is not valid.');
  }
}

function claimReason(error: errors.JWTClaimValidationFailed): string {
  if (error.reason === 'missing') return `The token lacks the required '${error.claim}' claim.`;
  switch (error.claim) {
    case 'nbf':
      return 'The token is not yet valid.';
    case 'aud':
      return 'The token was issued for another audience.';
    case 'iss':
      return 'The token was issued by an untrusted issuer.';
    case 'iat':
      return 'The token was issued in the future.';
    default:
      return `The token's '${error.claim}' claim is not valid.`;
  }
}

const optionalString = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;

/** Claims → Principal: sub, oid, azp (v2) or appid (v1), roles (Fleet roles only), name. */
export function toPrincipal(payload: JWTPayload): Principal {
  const subject = optionalString(payload.sub);
  if (subject === undefined) throw unauthorized("The token lacks the required 'sub' claim.");
  const claimed = Array.isArray(payload['roles']) ? (payload['roles'] as unknown[]) : [];
  const roles: FleetRole[] = FLEET_ROLES.filter((role) => claimed.includes(role));
  const principal: Principal = { subject, roles };
  const objectId = optionalString(payload['oid']);
  const appId = optionalString(payload['azp']) ?? optionalString(payload['appid']);
  const displayName = optionalString(payload['name']);
  if (objectId !== undefined) principal.objectId = objectId;
  if (appId !== undefined) principal.appId = appId;
  if (displayName !== undefined) principal.displayName = displayName;
  return principal;
}
