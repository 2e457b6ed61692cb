import { describe, expect, it } from 'vitest';
import { DnsFrameReader, frameDnsMessage } from './dns-tcp-framing.js';

describe('DNS over TCP framing', () => {
  it('prefixes a message with its length, big-endian', () => {
    expect([...frameDnsMessage(Buffer.from([7, 8, 9]))]).toEqual([0, 3, 7, 8, 9]);
  });

  it('returns whole messages however the stream is cut', () => {
    const stream = Buffer.concat([frameDnsMessage(Buffer.from('first')), frameDnsMessage(Buffer.alloc(300, 1)), frameDnsMessage(Buffer.from('third'))]);
    for (const cut of [1, 2, 3, 7, 150, stream.length]) {
      const reader = new DnsFrameReader();
      const messages: Buffer[] = [];
      for (let offset = 0; offset < stream.length; offset += cut) messages.push(...reader.push(stream.subarray(offset, offset + cut)));
      expect(messages.map((m) => m.length)).toEqual([5, 300, 5]);
      expect(messages[2]!.toString()).toBe('third');
    }
  });

  it('rejects a message longer than 65,535 bytes', () => {
    expect(() => frameDnsMessage(Buffer.alloc(0x10000))).toThrow(RangeError);
  });
});
