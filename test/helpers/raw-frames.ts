/**
 * Hand-built Ethernet frames for datapath tests: frames are built here (TypeScript) and sent / counted
 * by one long-lived python3 AF_PACKET process per namespace (python starts slowly on a loaded
 * machine, so one process serves a whole suite). Runs INSIDE a test namespace with nsenter, never
 * `ip netns exec`; frames carry only the test's own addresses.
 *
 *   RawPort.start(nsPath)            python3 in the namespace, driven by JSON lines on stdio
 *   raw.mac(ifname)                  the interface's MAC address
 *   raw.watch(ifname, marker)        from now on, count frames RECEIVED on ifname containing marker
 *   raw.count(ifname, marker)        that count
 *   raw.send(ifname, frame, count)   send the frame `count` times (through the interface's TC
 *                                    egress, like any packet the namespace sends) → {sent, refused}
 */

import { parsePrefix16 } from '../../agent/src/kernel/ip-address.js';
import { NsChild } from './ns-child.js';

const RAW_PY = `
import json, socket, sys, threading
socks, counts, markers, lock = {}, {}, [], threading.Lock()
def reader(ifname, s):
    while True:
        try: data, addr = s.recvfrom(65535)
        except OSError: return
        if addr[2] == socket.PACKET_OUTGOING: continue
        with lock:
            for m in markers:
                if m in data: counts[(ifname, m)] = counts.get((ifname, m), 0) + 1
def sock(ifname):
    if ifname not in socks:
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))  # ETH_P_ALL
        s.bind((ifname, 0))
        socks[ifname] = s
        threading.Thread(target=reader, args=(ifname, s), daemon=True).start()
    return socks[ifname]
print(json.dumps({'id': 0}), flush=True)
for line in sys.stdin:
    r = json.loads(line); out = {'id': r['id']}
    try:
        if r['op'] == 'mac':
            out['mac'] = sock(r['ifname']).getsockname()[4].hex(':')
        elif r['op'] == 'watch':
            m = bytes.fromhex(r['marker'])
            with lock:
                if m not in markers: markers.append(m)
            sock(r['ifname'])
        elif r['op'] == 'count':
            with lock: out['count'] = counts.get((r['ifname'], bytes.fromhex(r['marker'])), 0)
        elif r['op'] == 'send':
            s, f = sock(r['ifname']), bytes.fromhex(r['frame'])
            out['sent'], out['refused'] = 0, 0
            for _ in range(r['count']):
                try: s.send(f); out['sent'] += 1
                except OSError as e:  # ENOBUFS: a program on this interface's TC egress dropped it
                    if e.errno != 105: raise
                    out['refused'] += 1
    except Exception as e:
        out['failure'] = repr(e)
    print(json.dumps(out), flush=True)
`;

export class RawPort {
  private constructor(private readonly child: NsChild) {}

  static async start(nsPath: string): Promise<RawPort> {
    return new RawPort(await NsChild.start(nsPath, 'python3', ['-u', '-c', RAW_PY], 'raw frame helper'));
  }

  private request(op: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
    return this.child.request(op, args);
  }

  async mac(ifname: string): Promise<string> {
    return String((await this.request('mac', { ifname })).mac);
  }

  async watch(ifname: string, marker: Buffer): Promise<void> {
    await this.request('watch', { ifname, marker: marker.toString('hex') });
  }

  async count(ifname: string, marker: Buffer): Promise<number> {
    return Number((await this.request('count', { ifname, marker: marker.toString('hex') })).count);
  }

  /** refused: sends that failed with ENOBUFS because a program on the interface's own TC egress
   *  dropped the frame (only when sending from the node on a host-side veth) */
  async send(ifname: string, frame: Buffer, count = 1): Promise<{ sent: number; refused: number }> {
    const r = await this.request('send', { ifname, frame: frame.toString('hex'), count });
    return { sent: Number(r.sent), refused: Number(r.refused) };
  }

  stop(): void {
    this.child.stop();
  }
}

// ---- frame builders -------------------------------------------------------------------------

export const ETH_P_IPV6 = 0x86dd;

function ethernet(dstMac: string, srcMac: string, etherType: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(14);
  Buffer.from(dstMac.replace(/:/g, ''), 'hex').copy(h, 0);
  Buffer.from(srcMac.replace(/:/g, ''), 'hex').copy(h, 6);
  h.writeUInt16BE(etherType, 12);
  return Buffer.concat([h, payload]);
}

/** A frame of an arbitrary EtherType (e.g. 0x88b5, IEEE local experimental) carrying payload. */
export function etherFrame(o: { dstMac: string; srcMac: string; etherType: number; payload: Buffer }): Buffer {
  return ethernet(o.dstMac, o.srcMac, o.etherType, o.payload);
}

/** IPv6 extension header numbers the program walks (policy.c). */
export const ExtHeaderType = { hopByHop: 0, routing: 43, fragment: 44, ah: 51, destOpts: 60 } as const;
export type ExtHeaderType = (typeof ExtHeaderType)[keyof typeof ExtHeaderType];

export interface ExtHeader {
  type: ExtHeaderType;
  /** overrides the header's length byte (hop-by-hop/routing/dest opts: 8-octet units after the
   *  first 8; AH: 4-octet units minus 2) — e.g. to point past the end of the packet */
  lengthByte?: number;
  /** keep only this many bytes of the header (a chain cut inside a header) */
  keepBytes?: number;
}

/** One well-formed header of its type with next header `next` (8 bytes; AH 24). */
function extHeaderBytes(h: ExtHeader, next: number): Buffer {
  let b: Buffer;
  switch (h.type) {
    case ExtHeaderType.fragment: // offset 0, M 0: an atomic fragment (RFC 6946)
      b = Buffer.from([next, 0, 0, 0, 0x12, 0x34, 0x56, 0x78]);
      break;
    case ExtHeaderType.ah: // payload len 4 → (4 + 2) * 4 = 24 bytes: SPI, sequence, 12-byte ICV
      b = Buffer.concat([Buffer.from([next, 4, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]), Buffer.alloc(12)]);
      break;
    case ExtHeaderType.routing: // routing type 253 (RFC 4727 experiment), segments left 0: ignored
      b = Buffer.from([next, 0, 253, 0, 0, 0, 0, 0]);
      break;
    default: // hop-by-hop / destination options: one PadN option of 4 bytes
      b = Buffer.from([next, 0, 1, 4, 0, 0, 0, 0]);
  }
  if (h.lengthByte !== undefined) b[1] = h.lengthByte;
  return h.keepBytes !== undefined ? b.subarray(0, h.keepBytes) : b;
}

function checksum(b: Buffer): number {
  let s = 0;
  for (let i = 0; i + 1 < b.length; i += 2) s += b.readUInt16BE(i);
  if (b.length % 2) s += b[b.length - 1]! << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/**
 * Ethernet + IPv6 + the extension header chain + a UDP datagram or an ICMPv6 message (or nothing),
 * with a correct checksum. The IPv6 payload length is the bytes actually present, so the frame is
 * consistent even when a header's length byte claims more.
 */
export function ipv6Frame(o: {
  dstMac: string;
  srcMac: string;
  src: string;
  dst: string;
  chain: ExtHeader[];
  udp?: { sport: number; dport: number; payload: Buffer };
  /** an ICMPv6 message instead of UDP: type, code 0, the body after the 4-byte header */
  icmp6?: { type: number; body: Buffer };
  /** default 64 */
  hopLimit?: number;
}): Buffer {
  const src = parsePrefix16(o.src).bytes;
  const dst = parsePrefix16(o.dst).bytes;
  const UDP = 17;
  const NO_NEXT = 59;
  const ICMPV6 = 58;
  const types = [...o.chain.map((h) => h.type), o.udp ? UDP : o.icmp6 ? ICMPV6 : NO_NEXT];
  const headers = o.chain.map((h, i) => extHeaderBytes(h, types[i + 1]!));
  let udp = Buffer.alloc(0);
  if (o.udp) {
    udp = Buffer.concat([Buffer.alloc(8), o.udp.payload]);
    udp.writeUInt16BE(o.udp.sport, 0);
    udp.writeUInt16BE(o.udp.dport, 2);
    udp.writeUInt16BE(udp.length, 4);
    const pseudo = Buffer.alloc(40);
    src.copy(pseudo, 0);
    dst.copy(pseudo, 16);
    pseudo.writeUInt32BE(udp.length, 32);
    pseudo[39] = UDP;
    udp.writeUInt16BE(checksum(Buffer.concat([pseudo, udp])) || 0xffff, 6);
  } else if (o.icmp6) {
    udp = Buffer.concat([Buffer.from([o.icmp6.type, 0, 0, 0]), o.icmp6.body]);
    const pseudo = Buffer.alloc(40);
    src.copy(pseudo, 0);
    dst.copy(pseudo, 16);
    pseudo.writeUInt32BE(udp.length, 32);
    pseudo[39] = ICMPV6;
    udp.writeUInt16BE(checksum(Buffer.concat([pseudo, udp])), 2);
  }
  const payload = Buffer.concat([...headers, udp]);
  const ip = Buffer.alloc(40);
  ip.writeUInt32BE(6 << 28, 0);
  ip.writeUInt16BE(payload.length, 4);
  ip[6] = types[0]!;
  ip[7] = o.hopLimit ?? 64;
  src.copy(ip, 8);
  dst.copy(ip, 24);
  return ethernet(o.dstMac, o.srcMac, ETH_P_IPV6, Buffer.concat([ip, payload]));
}
