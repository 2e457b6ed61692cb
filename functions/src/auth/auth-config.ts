/**
 * Authentication settings from an env-like object (pass `process.env` at startup). Exactly one mode:
 *
 * - Entra ID: `FLEETNET_AUTH_ISSUER` (e.g. `https://login.microsoftonline.com/<tenant>/v2.0`) and
 *   `FLEETNET_AUTH_AUDIENCE` (comma-separated: App ID URI and/or client id), plus
 *   `FLEETNET_AUTH_JWKS_URI` (e.g. `https://login.microsoftonline.com/<tenant>/discovery/v2.0/keys`),
 *   which may be omitted when the issuer is an Entra v2 issuer (derived from the tenant).
 * - Dev issuer (local runs only): `FLEETNET_AUTH_DEV_ISSUER_DIR` (e.g. `.fleetnet/dev-issuer`).
 *   Refused on Azure App Service / Functions hosts (`WEBSITE_INSTANCE_ID` set).
 *
 * Anything else throws AuthConfigError. Messages name variables, never their values beyond URLs.
 */

export type AuthEnv = Readonly<Record<string, string | undefined>>;

export type AuthConfig =
  | { mode: 'entra'; issuer: string; audience: string[]; jwksUri: string }
  | { mode: 'dev'; devIssuerDir: string };

export class AuthConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthConfigError';
  }
}

export const AUTH_ENV = {
  issuer: 'FLEETNET_AUTH_ISSUER',
  audience: 'FLEETNET_AUTH_AUDIENCE',
  jwksUri: 'FLEETNET_AUTH_JWKS_URI',
  devIssuerDir: 'FLEETNET_AUTH_DEV_ISSUER_DIR',
} as const;

const ENTRA_V2_ISSUER = /^https:\/\/login\.microsoftonline\.com\/([0-9a-fA-F-]{36})\/v2\.0$/;

const read = (env: AuthEnv, name: string): string | undefined => {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
};

export function loadAuthConfig(env: AuthEnv): AuthConfig {
  const issuer = read(env, AUTH_ENV.issuer);
  const audience = read(env, AUTH_ENV.audience);
  const jwksUri = read(env, AUTH_ENV.jwksUri);
  const devIssuerDir = read(env, AUTH_ENV.devIssuerDir);
  const anyEntra = issuer !== undefined || audience !== undefined || jwksUri !== undefined;

  if (devIssuerDir !== undefined) {
    if (anyEntra) {
      throw new AuthConfigError(
        `${AUTH_ENV.devIssuerDir} cannot be combined with ${AUTH_ENV.issuer}/${AUTH_ENV.audience}/${AUTH_ENV.jwksUri}; configure one token issuer.`,
      );
    }
    if (read(env, 'WEBSITE_INSTANCE_ID') !== undefined) {
      throw new AuthConfigError(`${AUTH_ENV.devIssuerDir} is for local runs only and is refused on an Azure host.`);
    }
    return { mode: 'dev', devIssuerDir };
  }

  if (!anyEntra) {
    throw new AuthConfigError(
      `No token issuer configured: set ${AUTH_ENV.issuer} and ${AUTH_ENV.audience} (Entra ID), or ${AUTH_ENV.devIssuerDir} for local runs.`,
    );
  }
  if (issuer === undefined) throw new AuthConfigError(`${AUTH_ENV.issuer} is required.`);
  if (audience === undefined) throw new AuthConfigError(`${AUTH_ENV.audience} is required.`);
  requireUrl(AUTH_ENV.issuer, issuer);
  const audiences = audience.split(',').map((a) => a.trim()).filter((a) => a !== '');
  if (audiences.length === 0) throw new AuthConfigError(`${AUTH_ENV.audience} is empty.`);

  const tenant = ENTRA_V2_ISSUER.exec(issuer)?.[1];
  const keysUri = jwksUri ?? (tenant && `https://login.microsoftonline.com/${tenant}/discovery/v2.0/keys`);
  if (keysUri === undefined || keysUri === '') {
    throw new AuthConfigError(`${AUTH_ENV.jwksUri} is required when ${AUTH_ENV.issuer} is not an Entra v2 issuer.`);
  }
  const url = requireUrl(AUTH_ENV.jwksUri, keysUri);
  const loopback = url.hostname === 'localhost' || url.hostname === '127.0.0.1' || url.hostname === '[::1]';
  if (url.protocol !== 'https:' && !loopback) {
    throw new AuthConfigError(`${AUTH_ENV.jwksUri} must be an https URL.`);
  }
  return { mode: 'entra', issuer, audience: audiences, jwksUri: url.href };
}

function requireUrl(name: string, value: string): URL {
  try {
    return new URL(value);
  } catch {
    throw new AuthConfigError(`${name} must be an absolute URL.`);
  }
}
