/**
 * DNS message helpers for the proxy, over the `dns-packet` library (no hand-written DNS parsing).
 *
 * Contracts:
 * - `decodeDnsMessage` returns the decoded message, or undefined for bytes dns-packet cannot decode
 *   (never throws).
 * - `setMessageId` / `readMessageId` touch only the 16-bit ID that opens every DNS message (RFC 1035
 *   4.1.1, network byte order); they are how the proxy remaps query ids without re-encoding, so a
 *   forwarded answer reaches the client byte-for-byte as the server sent it, id restored.
 * - `encodeRejection` builds the answer a recursive resolver gives when it will not answer: QR set, the
 *   query's id, opcode, question section, RD and CD copied, RA set, the given rcode, no records; an OPT
 *   record (EDNS0, 1232-byte payload) when the query carried one (RFC 6891 6.1.1).
 * - `canonicalDnsName`: lower case without the trailing dot (the form names take in answers, records
 *   and policy checks).
 */
import * as dnsPacket from 'dns-packet';
import type { DecodedPacket, Question } from 'dns-packet';

export { canonicalDnsName } from '../../../core/policy/rules/fqdn.js';

/** RFC 1035 4.1.1 / RFC 6895 2.3 response codes the proxy itself produces. */
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
export type ProxyRcode = keyof typeof RCODE;

/** opcode bits of the flags word as dns-packet exposes it (the header's second 16 bits without QR) */
const OPCODE_MASK = 0x7800;
const EDNS_UDP_PAYLOAD = 1232;

/** dns-packet decodes the header's opcode and rcode as text; its typings omit them. */
export interface DnsMessage extends DecodedPacket {
  opcode?: string;
  rcode?: string;
}

export function decodeDnsMessage(bytes: Buffer): DnsMessage | undefined {
  try {
    return dnsPacket.decode(bytes) as DnsMessage;
  } catch {
    return undefined;
  }
}

export function readMessageId(bytes: Buffer): number {
  return bytes.readUInt16BE(0);
}

/** Writes `id` into the message in place (the caller owns `bytes`). */
export function setMessageId(bytes: Buffer, id: number): void {
  bytes.writeUInt16BE(id, 0);
}

export function encodeRejection(query: DnsMessage, rcode: ProxyRcode): Buffer {
  const flags = ((query.flags ?? 0) & (OPCODE_MASK | dnsPacket.RECURSION_DESIRED | dnsPacket.CHECKING_DISABLED))
    | dnsPacket.RECURSION_AVAILABLE
    | RCODE[rcode];
  const hasEdns = (query.additionals ?? []).some((record) => record.type === 'OPT');
  return dnsPacket.encode({
    type: 'response',
    id: query.id ?? 0,
    flags,
    questions: query.questions ?? [],
    additionals: hasEdns ? [{ type: 'OPT', name: '.', udpPayloadSize: EDNS_UDP_PAYLOAD, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] : [],
  });
}

/** True when the answer's question section is the query's (names case-insensitively, RFC 4343). */
export function sameQuestion(query: Question, answer: Question | undefined): boolean {
  return answer !== undefined
    && answer.type === query.type
    && (answer.class ?? 'IN') === (query.class ?? 'IN')
    && answer.name.toLowerCase() === query.name.toLowerCase();
}
