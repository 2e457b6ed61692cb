import { describe, expect, it } from 'vitest';
import { consoleConfig, consoleContentSecurityPolicy } from './console-config.js';

const TENANT = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';

describe('consoleConfig', () => {
  it('signs in with Entra when the console app and the API issuer/audience are configured', () => {
    expect(
      consoleConfig({
        FLEETNET_CONSOLE_CLIENT_ID: '11111111-2222-3333-4444-555555555555',
        FLEETNET_AUTH_ISSUER: `https://login.microsoftonline.com/${TENANT}/v2.0`,
        FLEETNET_AUTH_AUDIENCE: 'api://fleetnet/',
      }),
    ).toEqual({
      auth: 'entra',
      clientId: '11111111-2222-3333-4444-555555555555',
      authority: `https://login.microsoftonline.com/${TENANT}`,
      knownAuthorities: ['login.microsoftonline.com'],
      scopes: ['api://fleetnet/.default'],
    });
  });

  it('asks for the first listed audience when the API accepts several (App ID URI, client id)', () => {
    const config = consoleConfig({
      FLEETNET_CONSOLE_CLIENT_ID: 'console',
      FLEETNET_AUTH_ISSUER: `https://login.microsoftonline.us/${TENANT}/v2.0`,
      FLEETNET_AUTH_AUDIENCE: ' , 99999999-2222-3333-4444-555555555555 , api://fleetnet',
    });
    expect(config).toMatchObject({ scopes: ['99999999-2222-3333-4444-555555555555/.default'], knownAuthorities: ['login.microsoftonline.us'] });
  });

  it('asks for a pasted token otherwise (dev issuer, or no console app registration)', () => {
    expect(consoleConfig({})).toEqual({ auth: 'token' });
    expect(consoleConfig({ FLEETNET_AUTH_ISSUER: 'https://login.microsoftonline.com/t/v2.0', FLEETNET_AUTH_AUDIENCE: 'api://x' })).toEqual({ auth: 'token' });
    expect(consoleConfig({ FLEETNET_CONSOLE_CLIENT_ID: ' ', FLEETNET_AUTH_ISSUER: 'https://login.microsoftonline.com/t/v2.0', FLEETNET_AUTH_AUDIENCE: 'api://x' })).toEqual({ auth: 'token' });
    expect(consoleConfig({ FLEETNET_CONSOLE_CLIENT_ID: 'console', FLEETNET_AUTH_ISSUER: 'https://login.microsoftonline.com/t/v2.0', FLEETNET_AUTH_AUDIENCE: ' , ' })).toEqual({ auth: 'token' });
  });
});

describe('consoleContentSecurityPolicy', () => {
  const directives = (csp: string) => Object.fromEntries(csp.split('; ').map((d) => [d.split(' ')[0], d.split(' ').slice(1)]));

  it('lets the page reach its own origin and the sign-in authority, nothing else', () => {
    const csp = directives(
      consoleContentSecurityPolicy({ auth: 'entra', clientId: 'c', authority: `https://login.microsoftonline.us/${TENANT}`, knownAuthorities: ['login.microsoftonline.us'], scopes: [] }),
    );
    expect(csp['connect-src']).toEqual(["'self'", 'https://login.microsoftonline.us']);
    expect(csp['frame-src']).toEqual(['https://login.microsoftonline.us']);
    expect(csp['script-src']).toEqual(["'self'"]);
    expect(csp['default-src']).toEqual(["'none'"]);
  });

  it('with pasted tokens, no other origin at all', () => {
    const csp = directives(consoleContentSecurityPolicy({ auth: 'token' }));
    expect(csp['connect-src']).toEqual(["'self'"]);
    expect(csp['frame-src']).toEqual(["'none'"]);
  });
});
