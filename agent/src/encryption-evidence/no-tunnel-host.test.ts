/**
 * The real "no tunnel" path on this machine: the reader runs the real `ip` (and would run `wg`) and
 * shows no WireGuard link. It cannot show a tunnel here, and the second test states why: this kernel
 * has no WireGuard (`ip link add … type wireguard` fails), so the tunnel path is tested on captured
 * output (parse-captured.test.ts).
 *
 * The host read is read-only and needs no privilege. The namespace read (root only) creates a fresh
 * network namespace, so it does not depend on the host's links, and deletes it afterwards.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEncryptionEvidence } from './read-encryption-evidence.js';

const root = process.getuid?.() === 0;
const NS = `fn-encev-${process.pid}`;
const NS_PATH = `/run/netns/${NS}`;

describe('encryption evidence on this machine (no tunnel)', () => {
  let nsCreated = false;
  beforeAll(() => {
    if (!root) return;
    execFileSync('ip', ['netns', 'add', NS]);
    nsCreated = true;
  });
  afterAll(() => {
    if (nsCreated) spawnSync('ip', ['netns', 'del', NS]);
  });

  it('the host: no WireGuard link, no error (read-only)', async () => {
    const before = Date.now();
    const e = await readEncryptionEvidence();
    expect(e).toEqual({ observedAt: expect.any(String), source: 'ip -j -d link show type wireguard', wireguardInterfaces: [] });
    expect(Date.parse(e.observedAt)).toBeGreaterThanOrEqual(before - 1000);
  });

  it.skipIf(!root)('a fresh network namespace: no WireGuard link, no error; and one cannot be created here', async () => {
    const e = await readEncryptionEvidence({ netnsPath: NS_PATH });
    expect(e).toMatchObject({ source: 'ip -j -d link show type wireguard', wireguardInterfaces: [] });
    expect(e.error).toBeUndefined();
    // why no tunnel can be shown: this kernel has no WireGuard
    const add = spawnSync('ip', ['-n', NS, 'link', 'add', 'fnwg0', 'type', 'wireguard'], { encoding: 'utf8' });
    expect(add.status).not.toBe(0);
    expect(add.stderr).toMatch(/Unknown device type|Operation not supported|not supported/i);
    const after = await readEncryptionEvidence({ netnsPath: NS_PATH });
    expect(after.wireguardInterfaces).toEqual([]);
  });
});
