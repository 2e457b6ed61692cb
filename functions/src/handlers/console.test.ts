import { describe, expect, it } from 'vitest';
import { consoleConfig } from './console.js';

describe('consoleConfig', () => {
  it('signs in with Entra when the console app and the API issuer/audience are configured', () => {
    expect(
      consoleConfig({
        FLEETNET_CONSOLE_CLIENT_ID: '11111111-2222-3333-4444-555555555555',
        FLEETNET_AUTH_ISSUER: 'https://login.microsoftonline.com/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee/v2.0',
        FLEETNET_AUTH_AUDIENCE: 'api://fleetnet/',
      }),
    ).toEqual({
      auth: 'entra',
      clientId: '11111111-2222-3333-4444-555555555555',
      authority: 'https://login.microsoftonline.com/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee',
      scopes: ['api://fleetnet/.default'],
    });
  });

  it('asks for a pasted token otherwise (dev issuer, or no console app registration)', () => {
    expect(consoleConfig({})).toEqual({ auth: 'token' });
    expect(consoleConfig({ FLEETNET_AUTH_ISSUER: 'https://login.microsoftonline.com/t/v2.0', FLEETNET_AUTH_AUDIENCE: 'api://x' })).toEqual({ auth: 'token' });
    expect(consoleConfig({ FLEETNET_CONSOLE_CLIENT_ID: ' ', FLEETNET_AUTH_ISSUER: 'https://login.microsoftonline.com/t/v2.0', FLEETNET_AUTH_AUDIENCE: 'api://x' })).toEqual({ auth: 'token' });
  });
});
