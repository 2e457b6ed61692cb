/**
 * The proxy's sockets are created where they are asked for: in a network namespace the test makes
 * (root; otherwise that part is skipped loudly) or, without one, in the agent's own. Real sockets,
 * real traffic on loopback.
 */
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadNativeBinding } from './kernel/native-binding.js';
import { proxySockets } from './proxy-sockets.js';

const ROOT = process.getuid?.() === 0;
if (!ROOT) console.warn('\n!!! agent/src/proxy-sockets.test.ts: the network-namespace cases need root and are SKIPPED. CI runs as root. !!!\n');

async function exercise(sockets: ReturnType<typeof proxySockets>, loopback: string): Promise<{ udpReply: string; tcpReply: string; udpPort: number; tcpPort: number }> {
  const udp = await sockets.udp(loopback, 0);
  udp.on('message', (m, r) => udp.send(Buffer.concat([Buffer.from('re:'), m]), r.port, r.address));
  const server = await sockets.tcpServer(loopback, 0, (c) => c.on('data', (d) => c.end(Buffer.concat([Buffer.from('re:'), d]))));
  const client = await sockets.udp(loopback, 0);
  const udpPort = udp.address().port;
  const tcpPort = (server.address() as { port: number }).port;
  try {
    client.send('ping', udpPort, loopback);
    const [msg] = (await once(client, 'message')) as [Buffer];
    const conn = sockets.tcpConnect(loopback, tcpPort);
    await once(conn, 'connect');
    conn.write('ping');
    const [data] = (await once(conn, 'data')) as [Buffer];
    conn.destroy();
    return { udpReply: msg.toString(), tcpReply: data.toString(), udpPort, tcpPort };
  } finally {
    udp.close();
    client.close();
    server.close();
  }
}

describe('proxySockets', () => {
  it('an upstream connection is bound before it connects (onBound gets its port) and its port is its own: no other socket can bind it, even with SO_REUSEADDR', async () => {
    const binding = loadNativeBinding();
    const sockets = proxySockets(binding);
    const server = await sockets.tcpServer('127.0.0.1', 0, (c) => c.end());
    try {
      let bound = 0;
      const conn = sockets.tcpConnect('127.0.0.1', (server.address() as { port: number }).port, { address: '127.0.0.1', onBound: (port) => (bound = port) });
      await once(conn, 'connect');
      expect(bound).toBeGreaterThan(0);
      expect(conn.localPort).toBe(bound);
      // a fixed port makes the addon set SO_REUSEADDR on the second socket: the first's lack of it still refuses
      expect(() => binding.openSocket(4, 'tcp', '127.0.0.1', bound)).toThrow(/Address already in use/);
      conn.destroy();
    } finally {
      server.close();
    }
  });

  it("without a namespace: UDP and TCP in the agent's own namespace, IPv4 and IPv6", async () => {
    const sockets = proxySockets(loadNativeBinding());
    for (const lo of ['127.0.0.1', '::1']) {
      const r = await exercise(sockets, lo);
      expect(r).toMatchObject({ udpReply: 're:ping', tcpReply: 're:ping' });
    }
  });

  describe.skipIf(!ROOT)('in a network namespace', () => {
    const ns = `fnsockets${process.pid}`;
    beforeAll(() => {
      execFileSync('ip', ['netns', 'add', ns]);
      execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    });
    afterAll(() => {
      execFileSync('ip', ['netns', 'del', ns]);
    });

    it('creates every socket there: the namespace shows them, and they talk over its loopback', async () => {
      const sockets = proxySockets(loadNativeBinding(), `/run/netns/${ns}`);
      const udp = await sockets.udp('127.0.0.1', 0);
      const server = await sockets.tcpServer('::1', 0, () => undefined);
      const listed = execFileSync('nsenter', [`--net=/run/netns/${ns}`, 'ss', '-Hnltu'], { encoding: 'utf8' });
      const udpPort = udp.address().port;
      const tcpPort = (server.address() as { port: number }).port;
      udp.close();
      server.close();
      expect(listed).toContain(`127.0.0.1:${udpPort}`);
      expect(listed).toContain(`[::1]:${tcpPort}`);
      const r = await exercise(sockets, '127.0.0.1');
      expect(r).toMatchObject({ udpReply: 're:ping', tcpReply: 're:ping' });
      // and not in ours: nothing listens on the namespace's port here
      const ours = execFileSync('ss', ['-Hnlt'], { encoding: 'utf8' });
      expect(ours).not.toContain(`[::1]:${tcpPort} `);
    });
  });
});
