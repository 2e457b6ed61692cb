/**
 * The parsers on output captured from real hosts (agent/testdata/encryption-evidence/README.md says
 * where each file came from). Expected values were written by reading the files, not by running the
 * parsers.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseIpLinkJson } from './parse-ip-link.js';
import { parseWgDump } from './parse-wg-dump.js';
import { combineEncryptionEvidence } from './read-encryption-evidence.js';

const dir = fileURLToPath(new URL('../../testdata/encryption-evidence/', import.meta.url));
const captured = (file: string) => readFileSync(join(dir, file), 'utf8');

describe('parseIpLinkJson on captured output', () => {
  it('netplan-ip-d-j-addr.json: six links, one of them WireGuard (wg0, UP+LOWER_UP, operstate UNKNOWN)', () => {
    const r = parseIpLinkJson(captured('netplan-ip-d-j-addr.json'));
    // lo, enp0s31f6, wlan0, wg0 (info_kind wireguard), wwan0, tun0 (info_kind sit): only wg0 is WireGuard
    expect(r).toEqual({ links: [{ name: 'wg0', up: true }], malformed: 0 });
  });

  it('this-host-ip-j-d-link-show-type-wireguard.json: four `{}` placeholders, no link, nothing malformed', () => {
    const r = parseIpLinkJson(captured('this-host-ip-j-d-link-show-type-wireguard.json'));
    expect(r).toEqual({ links: [], malformed: 0 });
  });
});

describe('parseWgDump on captured output', () => {
  const text = captured('prometheus-wireguard-exporter-wg-show-all-dump.txt');
  // by hand: line 1 is wg0's interface line (port 51820); peers: wg0 ×5 (handshakes 1555771458,
  // 0, 0, 0, 1555344925), wg2 ×1 (0), pollo ×1 (0) — wg2 and pollo have no interface line
  const lastHandshake = 1555771458;

  it('counts interfaces, peers and recent handshakes; skips nothing', () => {
    const r = parseWgDump(text, new Date((lastHandshake + 60) * 1000));
    expect(r.lines).toBe(8);
    expect(r.malformed).toBe(0);
    expect(Object.fromEntries(r.interfaces)).toEqual({
      wg0: { listenPort: 51820, peers: 5, peersWithHandshake: 1 },
      wg2: { peers: 1, peersWithHandshake: 0 },
      pollo: { peers: 1, peersWithHandshake: 0 },
    });
  });

  it('a handshake 180 s old still counts, 181 s old does not', () => {
    expect(parseWgDump(text, new Date((lastHandshake + 180) * 1000)).interfaces.get('wg0')?.peersWithHandshake).toBe(1);
    expect(parseWgDump(text, new Date((lastHandshake + 181) * 1000)).interfaces.get('wg0')?.peersWithHandshake).toBe(0);
  });

  it('no key, endpoint or allowed IP of the dump reaches the evidence (a private and a preshared key added to the captured lines)', () => {
    // constructed: the captured file's private-key field is redacted, so two synthetic secrets are put in
    const PRIVATE = 'cHJpdmF0ZS1rZXktdGhhdC1tdXN0LW5vdC1sZWFrISE=';
    const PRESHARED = 'cHJlc2hhcmVkLWtleS10aGF0LW11c3Qtbm90LWxlYWs=';
    const lines = text.split('\n');
    lines[0] = lines[0]!.replace('(redacted)', PRIVATE);
    lines[1] = lines[1]!.split('\t').map((f, i) => (i === 2 ? PRESHARED : f)).join('\t');
    const dump = lines.join('\n');
    const ip = JSON.stringify([{ ifname: 'wg0', flags: ['POINTOPOINT', 'NOARP', 'UP', 'LOWER_UP'], operstate: 'UNKNOWN', linkinfo: { info_kind: 'wireguard' } }]);
    const { evidence } = combineEncryptionEvidence({ ok: true, stdout: ip }, { ok: true, stdout: dump }, new Date((lastHandshake + 60) * 1000));
    expect(evidence.wireguardInterfaces).toEqual([{ name: 'wg0', up: true, listenPort: 51820, peers: 5, peersWithHandshake: 1 }]);
    const json = JSON.stringify(evidence);
    const secretish = dump
      .split('\n')
      .flatMap((l) => l.split('\t').slice(1))
      .filter((f) => f !== '' && f !== '(none)' && f !== 'off' && !/^\d+$/.test(f));
    expect(secretish).toContain(PRIVATE);
    expect(secretish).toContain(PRESHARED);
    expect(secretish).toContain('37.159.76.245:29159');
    for (const f of secretish) expect(json).not.toContain(f);
  });
});

describe('parseWgDump on malformed lines', () => {
  it('skips and counts them, never throws, and keeps nothing of them', () => {
    const good = 'wg0\t(redacted)\tPUB\t51871\toff\nwg0\tPEERPUB\t(none)\t10.0.0.2:51871\t10.0.0.2/32\t1700000000\t1\t2\toff';
    const bad = [
      'wg0\tonly\tfour\tfields',
      'wg0\ta\tb\tc\td\te\tf\tg\th\ti', // 10 fields
      'wg0\tPRIV\tPUB\tnot-a-port\toff',
      'wg0\tPRIV\tPUB\t70000\toff',
      'wg0\tPEERPUB\tSECRET-PSK\t(none)\t(none)\tyesterday\t0\t0\toff',
      '\tPEERPUB\t(none)\t(none)\t(none)\t0\t0\t0\toff',
      'garbage without tabs SECRET',
    ];
    const r = parseWgDump([good, ...bad, ''].join('\n'), new Date(1_700_000_100_000));
    expect(r.lines).toBe(2 + bad.length);
    expect(r.malformed).toBe(bad.length);
    expect(Object.fromEntries(r.interfaces)).toEqual({ wg0: { listenPort: 51871, peers: 1, peersWithHandshake: 1 } });
    expect(JSON.stringify([...r.interfaces])).not.toMatch(/SECRET|PRIV|PUB/);
  });

  it('empty output: no interface', () => {
    expect(parseWgDump('', new Date())).toEqual({ interfaces: new Map(), lines: 0, malformed: 0 });
  });
});

describe('parseIpLinkJson on malformed output', () => {
  it.each([
    ['not JSON', 'Error: Unknown device type.', { links: [], malformed: 0, error: 'ip printed something that is not JSON' }],
    ['an object', '{"ifname":"wg0"}', { links: [], malformed: 0, error: 'ip printed JSON that is not an array of links' }],
    ['empty output', '', { links: [], malformed: 0 }],
    [
      'entries without a usable ifname are counted',
      JSON.stringify([1, 'x', null, { ifname: 7 }, { ifname: '' }, { ifname: 'x'.repeat(65) }, { ifname: 'wg1', linkinfo: { info_kind: 'wireguard' }, flags: ['UP'] }]),
      { links: [{ name: 'wg1', up: false }], malformed: 6 },
    ],
    ['operstate alone', JSON.stringify([{ ifname: 'wg2', operstate: 'UP', linkinfo: { info_kind: 'wireguard' } }]), { links: [{ name: 'wg2', up: true }], malformed: 0 }],
    ['neither flags nor operstate', JSON.stringify([{ ifname: 'wg3', linkinfo: { info_kind: 'wireguard' } }]), { links: [{ name: 'wg3' }], malformed: 0 }],
    ['flags up but operstate DOWN', JSON.stringify([{ ifname: 'wg4', flags: ['UP', 'LOWER_UP'], operstate: 'DOWN', linkinfo: { info_kind: 'wireguard' } }]), { links: [{ name: 'wg4', up: false }], malformed: 0 }],
  ])('%s', (_name, given, want) => {
    expect(parseIpLinkJson(given)).toEqual(want);
  });
});
