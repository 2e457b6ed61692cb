import { describe, expect, it } from 'vitest';

import type { ProxyUpstream } from './kernel/codecs.js';
import { registerUpstream } from './proxy-upstreams.js';

describe('registerUpstream', () => {
  const upstream: ProxyUpstream = { address: '10.0.0.4', ipVersion: 4, proto: 17, port: 40001 };

  it('registers at once and unregisters once, however often it is released', () => {
    const calls: string[] = [];
    const registry = {
      registerProxyUpstream: (u: ProxyUpstream, identity: number, decided: boolean) => calls.push(`+${u.proto}/${u.port} ${identity} ${decided}`),
      unregisterProxyUpstream: (u: ProxyUpstream) => calls.push(`-${u.proto}/${u.port}`),
    };
    const release = registerUpstream(registry, upstream, 3001, false);
    expect(calls).toEqual(['+17/40001 3001 false']);
    release();
    release();
    expect(calls).toEqual(['+17/40001 3001 false', '-17/40001']);
  });

  it('a failing unregister is logged, never thrown', () => {
    const logged: string[] = [];
    const registry = {
      registerProxyUpstream: () => undefined,
      unregisterProxyUpstream: () => {
        throw new Error('EBADF');
      },
    };
    const release = registerUpstream(registry, upstream, 3001, true, (level, msg, fields) => logged.push(`${level} ${msg} ${String(fields?.['error'])}`));
    expect(() => release()).not.toThrow();
    expect(logged).toEqual(['warn could not unregister a proxy upstream socket EBADF']);
  });
});
