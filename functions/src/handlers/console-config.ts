/**
 * How the console signs in (served as `console/config.json`) and the page's Content-Security-Policy that
 * follows from it. Read once from the app's environment (app-services.ts); the console's session.ts reads
 * the same type.
 *
 * - `entra` when the console's SPA app registration (FLEETNET_CONSOLE_CLIENT_ID) and the API's Entra
 *   settings (FLEETNET_AUTH_ISSUER, FLEETNET_AUTH_AUDIENCE) are all set: MSAL signs in at the issuer's
 *   authority (the issuer without `/v2.0`) and asks for `<first audience>/.default` — the API's App ID URI
 *   or client id, whichever the operator lists first (Entra accepts either as a scope's resource).
 *   `knownAuthorities` names the authority's host, so MSAL trusts exactly the authority the API trusts and
 *   makes no instance-discovery call (which also lets sovereign clouds and test authorities work).
 * - `token` otherwise (the local dev issuer, or Entra without a console registration): paste a token.
 */
import { AUTH_ENV, type AuthEnv } from '../auth/auth-config.js';

export const CONSOLE_ENV = {
  /** The console's own (SPA) app registration in Entra ID; with FLEETNET_AUTH_ISSUER it signs users in. */
  clientId: 'FLEETNET_CONSOLE_CLIENT_ID',
  /** Where the built console is (default: dist/console beside the code). */
  dir: 'FLEETNET_CONSOLE_DIR',
} as const;

export type ConsoleConfig =
  | { auth: 'token' }
  | { auth: 'entra'; clientId: string; authority: string; knownAuthorities: string[]; scopes: string[] };

export function consoleConfig(env: AuthEnv): ConsoleConfig {
  const clientId = env[CONSOLE_ENV.clientId]?.trim();
  const issuer = env[AUTH_ENV.issuer]?.trim();
  const audience = env[AUTH_ENV.audience]
    ?.split(',')
    .map((a) => a.trim())
    .find((a) => a !== '');
  if (!clientId || !issuer || !audience) return { auth: 'token' };
  const authority = issuer.replace(/\/v2\.0\/?$/, '');
  return { auth: 'entra', clientId, authority, knownAuthorities: [new URL(authority).host], scopes: [`${audience.replace(/\/$/, '')}/.default`] };
}

/**
 * Scripts and styles from this origin only; API calls to this origin; with Entra, token requests to the
 * authority's origin and its hidden iframe (MSAL's silent renewal) — nothing else.
 */
export function consoleContentSecurityPolicy(config: ConsoleConfig): string {
  const authority = config.auth === 'entra' ? ` ${new URL(config.authority).origin}` : '';
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src 'self'${authority}`,
    "font-src 'self'",
    `frame-src${authority || " 'none'"}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
  ].join('; ');
}
