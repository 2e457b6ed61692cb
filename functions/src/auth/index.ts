export * from './principal.js';
export * from './verify-bearer-token.js';
export * from './authorize.js';
export * from './auth-config.js';
export * from './dev-issuer.js';
export * from './create-authenticator.js';
