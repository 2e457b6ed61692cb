import { describe, expect, it } from 'vitest';
import type { NodeEncryptionEvidence } from '../../../openapi/types.js';
import { EncryptionEvidenceMonitor, evidenceDigest } from './evidence-monitor.js';

const ev = (at: number, interfaces: NodeEncryptionEvidence['wireguardInterfaces'] = []): NodeEncryptionEvidence => ({
  observedAt: new Date(at).toISOString(),
  source: 'ip -j -d link show type wireguard',
  wireguardInterfaces: interfaces,
});

async function until(cond: () => boolean, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('EncryptionEvidenceMonitor', () => {
  it('reads at start, then every interval; onChange only when more than observedAt changed', async () => {
    const answers = [ev(1), ev(2), ev(3, [{ name: 'wg0', up: true }]), ev(4, [{ name: 'wg0', up: true }])];
    let reads = 0;
    const changes: NodeEncryptionEvidence[] = [];
    const m = new EncryptionEvidenceMonitor({ read: async () => answers[Math.min(reads++, answers.length - 1)]!, intervalMs: 20, onChange: (e) => void changes.push(e) });
    expect(m.latest()).toBeUndefined();
    await m.start();
    expect(reads).toBe(1);
    expect(m.latest()).toEqual(ev(1));
    await until(() => reads >= 4);
    await m.stop();
    const stoppedAt = reads;
    expect(changes.map((c) => c.wireguardInterfaces.length)).toEqual([0, 1]);
    expect(m.latest()?.wireguardInterfaces).toEqual([{ name: 'wg0', up: true }]);
    await new Promise((r) => setTimeout(r, 60));
    expect(reads).toBe(stoppedAt);
  });

  it('a throwing read becomes an error evidence without the thrown message', async () => {
    const m = new EncryptionEvidenceMonitor({ read: async () => Promise.reject(new TypeError('secret detail')), intervalMs: 60_000, now: () => new Date(0) });
    await m.start();
    await m.stop();
    expect(m.latest()).toEqual({ observedAt: new Date(0).toISOString(), source: 'agent', wireguardInterfaces: [], error: 'evidence could not be read: TypeError' });
  });

  it('evidenceDigest ignores observedAt only', () => {
    expect(evidenceDigest(ev(1))).toBe(evidenceDigest(ev(2)));
    expect(evidenceDigest(ev(1))).not.toBe(evidenceDigest({ ...ev(1), error: 'ip: timed out' }));
  });
});
