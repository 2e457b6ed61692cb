import { describe, expect, it } from 'vitest';
import { AuthConfigError, loadAuthConfig, type AuthConfig, type AuthEnv } from './auth-config.js';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const ENTRA_ISSUER = `https://login.microsoftonline.com/${TENANT}/v2.0`;
const ENTRA_JWKS = `https://login.microsoftonline.com/${TENANT}/discovery/v2.0/keys`;

describe('loadAuthConfig', () => {
  const valid: { name: string; env: AuthEnv; want: AuthConfig }[] = [
    {
      name: 'Entra with explicit JWKS URI',
      env: { FLEETNET_AUTH_ISSUER: ENTRA_ISSUER, FLEETNET_AUTH_AUDIENCE: 'api://fleetnet', FLEETNET_AUTH_JWKS_URI: ENTRA_JWKS },
      want: { mode: 'entra', issuer: ENTRA_ISSUER, audience: ['api://fleetnet'], jwksUri: ENTRA_JWKS },
    },
    {
      name: 'Entra, JWKS URI derived from the tenant, several audiences',
      env: { FLEETNET_AUTH_ISSUER: ENTRA_ISSUER, FLEETNET_AUTH_AUDIENCE: ' api://fleetnet , 0000-client ,' },
      want: { mode: 'entra', issuer: ENTRA_ISSUER, audience: ['api://fleetnet', '0000-client'], jwksUri: ENTRA_JWKS },
    },
    {
      name: 'dev issuer',
      env: { FLEETNET_AUTH_DEV_ISSUER_DIR: '.fleetnet/dev-issuer', FLEETNET_AUTH_ISSUER: '  ' },
      want: { mode: 'dev', devIssuerDir: '.fleetnet/dev-issuer' },
    },
  ];
  it.each(valid)('$name', ({ env, want }) => {
    expect(loadAuthConfig(env)).toEqual(want);
  });

  const invalid: { name: string; env: AuthEnv; want: RegExp }[] = [
    { name: 'nothing configured', env: {}, want: /No token issuer configured/ },
    { name: 'issuer without audience', env: { FLEETNET_AUTH_ISSUER: ENTRA_ISSUER }, want: /FLEETNET_AUTH_AUDIENCE is required/ },
    { name: 'audience without issuer', env: { FLEETNET_AUTH_AUDIENCE: 'api://fleetnet' }, want: /FLEETNET_AUTH_ISSUER is required/ },
    {
      name: 'non-Entra issuer without JWKS URI',
      env: { FLEETNET_AUTH_ISSUER: 'https://idp.example/', FLEETNET_AUTH_AUDIENCE: 'a' },
      want: /FLEETNET_AUTH_JWKS_URI is required/,
    },
    {
      name: 'issuer not a URL',
      env: { FLEETNET_AUTH_ISSUER: 'contoso', FLEETNET_AUTH_AUDIENCE: 'a', FLEETNET_AUTH_JWKS_URI: ENTRA_JWKS },
      want: /FLEETNET_AUTH_ISSUER must be an absolute URL/,
    },
    {
      name: 'plain-http JWKS',
      env: { FLEETNET_AUTH_ISSUER: ENTRA_ISSUER, FLEETNET_AUTH_AUDIENCE: 'a', FLEETNET_AUTH_JWKS_URI: 'http://keys.example/jwks' },
      want: /must be an https URL/,
    },
    {
      name: 'dev issuer combined with Entra',
      env: { FLEETNET_AUTH_DEV_ISSUER_DIR: 'd', FLEETNET_AUTH_ISSUER: ENTRA_ISSUER, FLEETNET_AUTH_AUDIENCE: 'a' },
      want: /cannot be combined/,
    },
    {
      name: 'dev issuer on an Azure host',
      env: { FLEETNET_AUTH_DEV_ISSUER_DIR: 'd', WEBSITE_INSTANCE_ID: 'abc' },
      want: /local runs only/,
    },
  ];
  it.each(invalid)('fails: $name', ({ env, want }) => {
    expect(() => loadAuthConfig(env)).toThrow(AuthConfigError);
    expect(() => loadAuthConfig(env)).toThrow(want);
  });

  it('accepts a loopback http JWKS URI (local IdP emulators)', () => {
    const env = { FLEETNET_AUTH_ISSUER: 'http://localhost:8080/', FLEETNET_AUTH_AUDIENCE: 'a', FLEETNET_AUTH_JWKS_URI: 'http://localhost:8080/keys' };
    expect(loadAuthConfig(env)).toMatchObject({ mode: 'entra', jwksUri: 'http://localhost:8080/keys' });
  });
});
