/**
 * How ip's and wg's results combine into Node.status.encryption (table-driven, on the captured outputs),
 * the reader with a fake runner (which commands run, in which namespace), and the real runner's failure
 * classes on real processes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { NodeEncryptionEvidence } from '../../../openapi/types.js';
import { combineEncryptionEvidence, readEncryptionEvidence, runCommand, type CommandResult, type CommandRunner } from './read-encryption-evidence.js';

const dir = fileURLToPath(new URL('../../testdata/encryption-evidence/', import.meta.url));
const NETPLAN_IP = readFileSync(join(dir, 'netplan-ip-d-j-addr.json'), 'utf8');
const THIS_HOST_IP = readFileSync(join(dir, 'this-host-ip-j-d-link-show-type-wireguard.json'), 'utf8');
const DUMP = readFileSync(join(dir, 'prometheus-wireguard-exporter-wg-show-all-dump.txt'), 'utf8');
const NOW = new Date((1555771458 + 60) * 1000);
const IP = 'ip -j -d link show type wireguard';
const ok = (stdout: string): CommandResult => ({ ok: true, stdout });

describe('combineEncryptionEvidence', () => {
  const cases: { name: string; ip: CommandResult; wg: CommandResult | undefined; want: Omit<NodeEncryptionEvidence, 'observedAt'> }[] = [
    { name: 'ip not installed', ip: { ok: false, reason: 'ENOENT' }, wg: undefined, want: { source: IP, wireguardInterfaces: [], error: 'ip: not installed' } },
    { name: 'ip exits 1', ip: { ok: false, reason: 'EXIT', exitCode: 1 }, wg: undefined, want: { source: IP, wireguardInterfaces: [], error: 'ip: exit status 1' } },
    { name: 'ip timed out', ip: { ok: false, reason: 'TIMEOUT' }, wg: undefined, want: { source: IP, wireguardInterfaces: [], error: 'ip: timed out' } },
    { name: 'ip prints no JSON', ip: ok('Error: Unknown device type.'), wg: undefined, want: { source: IP, wireguardInterfaces: [], error: 'ip: ip printed something that is not JSON' } },
    { name: 'no tunnel (captured on this machine)', ip: ok(THIS_HOST_IP), wg: undefined, want: { source: IP, wireguardInterfaces: [] } },
    { name: 'links, wg not run', ip: ok(NETPLAN_IP), wg: undefined, want: { source: IP, wireguardInterfaces: [{ name: 'wg0', up: true }] } },
    {
      name: 'wg not installed: links from ip, no peer fields',
      ip: ok(NETPLAN_IP),
      wg: { ok: false, reason: 'ENOENT' },
      want: { source: `${IP}; wg not installed`, wireguardInterfaces: [{ name: 'wg0', up: true }] },
    },
    {
      name: 'wg not permitted: like not installed, the reason in source, no error',
      ip: ok(NETPLAN_IP),
      wg: { ok: false, reason: 'EPERM', exitCode: 1 },
      want: { source: `${IP}; wg not permitted: needs CAP_NET_ADMIN`, wireguardInterfaces: [{ name: 'wg0', up: true }] },
    },
    {
      name: 'wg fails otherwise',
      ip: ok(NETPLAN_IP),
      wg: { ok: false, reason: 'TOO_LARGE' },
      want: { source: `${IP}; wg failed: output too large`, wireguardInterfaces: [{ name: 'wg0', up: true }] },
    },
    {
      name: 'both: the dump adds port and peers to the links ip lists (wg2, pollo: dump only, ignored)',
      ip: ok(NETPLAN_IP),
      wg: ok(DUMP),
      want: { source: `${IP}; wg show all dump`, wireguardInterfaces: [{ name: 'wg0', up: true, listenPort: 51820, peers: 5, peersWithHandshake: 1 }] },
    },
    {
      name: 'a link the dump lacks (wg could not read it) stays without peer fields',
      ip: ok(JSON.stringify([{ ifname: 'cilium_wg0', flags: ['POINTOPOINT', 'NOARP', 'UP', 'LOWER_UP'], linkinfo: { info_kind: 'wireguard' } }])),
      wg: ok(DUMP),
      want: { source: `${IP}; wg show all dump`, wireguardInterfaces: [{ name: 'cilium_wg0', up: true }] },
    },
  ];
  it.each(cases)('$name', ({ ip, wg, want }) => {
    const { evidence } = combineEncryptionEvidence(ip, wg, NOW);
    expect(evidence).toEqual({ observedAt: NOW.toISOString(), ...want });
  });

  it('caps at 16 interfaces, in ip order, and says so in source', () => {
    const links = Array.from({ length: 20 }, (_, i) => ({ ifname: `wg${i}`, flags: ['UP', 'LOWER_UP'], linkinfo: { info_kind: 'wireguard' } }));
    const { evidence } = combineEncryptionEvidence(ok(JSON.stringify(links)), undefined, NOW);
    expect(evidence.wireguardInterfaces.map((i) => i.name)).toEqual(links.slice(0, 16).map((l) => l.ifname));
    expect(evidence.source).toBe(`${IP} (first 16 of 20)`);
  });

  it('reports malformed entries as counts only', () => {
    const { diagnostics } = combineEncryptionEvidence(ok(NETPLAN_IP), ok(`${DUMP}\nwg0\tbroken\n`), NOW);
    expect(diagnostics).toEqual({ malformedIpEntries: 0, malformedDumpLines: 1 });
  });
});

describe('readEncryptionEvidence with a fake runner', () => {
  const fake = (answers: Record<string, CommandResult>) => {
    const calls: string[][] = [];
    const run: CommandRunner = async (argv) => {
      calls.push([...argv]);
      const key = argv.includes('wg') ? 'wg' : 'ip';
      return answers[key] ?? { ok: false, reason: 'ENOENT' };
    };
    return { run, calls };
  };

  it('no WireGuard link: wg is not run', async () => {
    const { run, calls } = fake({ ip: ok(THIS_HOST_IP) });
    const e = await readEncryptionEvidence({ run, now: () => NOW });
    expect(e).toEqual({ observedAt: NOW.toISOString(), source: IP, wireguardInterfaces: [] });
    expect(calls).toEqual([['ip', '-j', '-d', 'link', 'show', 'type', 'wireguard']]);
  });

  it('links: wg runs too, both inside the namespace given', async () => {
    const { run, calls } = fake({ ip: ok(NETPLAN_IP), wg: ok(DUMP) });
    const logs: unknown[] = [];
    const e = await readEncryptionEvidence({ run, now: () => NOW, netnsPath: '/run/netns/x', log: (...a) => void logs.push(a) });
    expect(e.wireguardInterfaces).toEqual([{ name: 'wg0', up: true, listenPort: 51820, peers: 5, peersWithHandshake: 1 }]);
    expect(calls).toEqual([
      ['nsenter', '--net=/run/netns/x', '--', 'ip', '-j', '-d', 'link', 'show', 'type', 'wireguard'],
      ['nsenter', '--net=/run/netns/x', '--', 'wg', 'show', 'all', 'dump'],
    ]);
    expect(logs).toEqual([]);
  });

  it('logs a failure without any output text', async () => {
    const { run } = fake({ ip: { ok: false, reason: 'EXIT', exitCode: 255 } });
    const logs: unknown[] = [];
    const e = await readEncryptionEvidence({ run, now: () => NOW, log: (...a) => void logs.push(a) });
    expect(e.error).toBe('ip: exit status 255');
    expect(logs).toEqual([['warn', 'encryption evidence: a command failed', { source: IP, error: 'ip: exit status 255' }]]);
  });
});

describe('runCommand (real processes)', () => {
  const o = { timeoutMs: 2000, maxBytes: 1000 };
  it.each([
    ['a missing binary', ['fleetnet-no-such-binary-xyz'], { ok: false, reason: 'ENOENT' }],
    ['exit 3', ['sh', '-c', 'exit 3'], { ok: false, reason: 'EXIT', exitCode: 3 }],
    ["wg's permission message", ['sh', '-c', 'echo "Unable to access interface wg0: Operation not permitted" >&2; exit 1'], { ok: false, reason: 'EPERM', exitCode: 1 }],
    ['more output than allowed', ['sh', '-c', 'head -c 5000 /dev/zero'], { ok: false, reason: 'TOO_LARGE' }],
    ['output', ['sh', '-c', 'printf "[]"'], { ok: true, stdout: '[]' }],
  ])('%s', async (_name, argv, want) => {
    expect(await runCommand(argv, o)).toEqual(want);
  });

  it('a command past its timeout is killed', async () => {
    const t0 = Date.now();
    expect(await runCommand(['sleep', '5'], { timeoutMs: 100, maxBytes: 1000 })).toEqual({ ok: false, reason: 'TIMEOUT' });
    expect(Date.now() - t0).toBeLessThan(3000);
  });
});
