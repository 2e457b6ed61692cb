/**
 * DNS over TCP framing (RFC 1035 4.2.2, RFC 7766 8): every message is preceded by its length as a
 * two-byte big-endian integer. This is stream framing only; messages are decoded by dns-packet.
 *
 * Contracts: `DnsFrameReader.push(chunk)` returns the complete messages the bytes received so far hold,
 * in order, each in its own buffer (callers may write into them); it keeps at most one incomplete frame
 * (≤ 65,537 bytes). `frameDnsMessage` prefixes a message (≤ 65,535 bytes) with its length.
 */
const LENGTH_BYTES = 2;
export const MAX_DNS_MESSAGE = 0xffff;

export class DnsFrameReader {
  private buffered: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    let data = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const messages: Buffer[] = [];
    while (data.length >= LENGTH_BYTES) {
      const length = data.readUInt16BE(0);
      if (data.length < LENGTH_BYTES + length) break;
      messages.push(Buffer.from(data.subarray(LENGTH_BYTES, LENGTH_BYTES + length)));
      data = data.subarray(LENGTH_BYTES + length);
    }
    this.buffered = data.length === 0 ? Buffer.alloc(0) : Buffer.from(data);
    return messages;
  }
}

export function frameDnsMessage(message: Buffer): Buffer {
  if (message.length > MAX_DNS_MESSAGE) throw new RangeError(`DNS message of ${message.length} bytes exceeds ${MAX_DNS_MESSAGE}`);
  const framed = Buffer.allocUnsafe(LENGTH_BYTES + message.length);
  framed.writeUInt16BE(message.length, 0);
  message.copy(framed, LENGTH_BYTES);
  return framed;
}
