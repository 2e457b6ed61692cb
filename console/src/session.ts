/**
 * Who the console acts as. Every data call carries the user's own bearer token to the API's operations —
 * the console has no privilege of its own.
 * - `token` (the local host's dev issuer, `npm start`; or Entra without a console app registration): the user pastes a token (`npm run token`, `az account get-access-token`); it is kept
 *   in sessionStorage (this tab only) until sign-out.
 * - `entra` (in Azure): @azure/msal-browser, loaded only then, signs in with redirect and acquires tokens
 *   for the API's scope; MSAL keeps its cache in sessionStorage.
 * The mode and Entra's settings come from `config.json`, served next to the page (console-config.ts).
 */
import type { ConsoleConfig } from '../../functions/src/handlers/console-config.js';

const TOKEN_KEY = 'fleetnet.console.token';

export interface Session {
  config: ConsoleConfig;
  /** a fresh token, or undefined when signed out */
  token(): Promise<string | undefined>;
  signInWithToken(token: string): void;
  signIn(): Promise<void>;
  signOut(): Promise<void>;
  /** what the token says about its holder, for the header (never shown: the token itself) */
  who(): string | undefined;
}

export async function openSession(): Promise<Session> {
  const config = (await (await fetch('config.json')).json()) as ConsoleConfig;
  return config.auth === 'entra' ? entraSession(config) : devSession(config);
}

function devSession(config: ConsoleConfig): Session {
  return {
    config,
    token: async () => sessionStorage.getItem(TOKEN_KEY) ?? undefined,
    signInWithToken: (token) => sessionStorage.setItem(TOKEN_KEY, token.trim()),
    signIn: async () => undefined,
    signOut: async () => sessionStorage.removeItem(TOKEN_KEY),
    who: () => describeToken(sessionStorage.getItem(TOKEN_KEY)),
  };
}

async function entraSession(config: Extract<ConsoleConfig, { auth: 'entra' }>): Promise<Session> {
  const msal = await import('@azure/msal-browser');
  const pageUri = location.origin + location.pathname; // the redirect URI registered for the console's app
  const app = new msal.PublicClientApplication({
    auth: { clientId: config.clientId, authority: config.authority, knownAuthorities: config.knownAuthorities, redirectUri: pageUri, postLogoutRedirectUri: pageUri },
    cache: { cacheLocation: 'sessionStorage' },
  });
  await app.initialize();
  const redirect = await app.handleRedirectPromise();
  if (redirect?.account) app.setActiveAccount(redirect.account);
  const account = () => app.getActiveAccount() ?? app.getAllAccounts()[0];
  const { scopes } = config;
  return {
    config,
    token: async () => {
      const current = account();
      if (!current) return undefined;
      try {
        return (await app.acquireTokenSilent({ scopes, account: current })).accessToken;
      } catch {
        await app.acquireTokenRedirect({ scopes, account: current });
        return undefined;
      }
    },
    signInWithToken: () => undefined,
    signIn: () => app.loginRedirect({ scopes }),
    signOut: () => app.logoutRedirect(),
    who: () => account()?.username,
  };
}

/** The token's subject and roles, read from its payload for display only (the API verifies it). */
function describeToken(token: string | null): string | undefined {
  if (!token) return undefined;
  try {
    const payload = JSON.parse(atob(token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))) as { oid?: string; sub?: string; roles?: string[] };
    return `${payload.oid ?? payload.sub ?? 'token'}${payload.roles?.length ? ` (${payload.roles.join(', ')})` : ''}`;
  } catch {
    return 'token';
  }
}
