/**
 * Hand-made packets for datapath tests, sent with python3 raw sockets INSIDE a test namespace
 * (nsenter, never `ip netns exec`). Each helper names exactly what it sends; addresses are the
 * test's own. Both families: a destination with ':' is IPv6.
 */
import { runIn } from './netns.js';

const CSUM_PY = `
import socket, struct, sys
def csum(b):
    if len(b) % 2: b += b'\\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
def source_for(dst):
    fam = socket.AF_INET6 if ':' in dst else socket.AF_INET
    u = socket.socket(fam, socket.SOCK_DGRAM); u.connect((dst, 9))
    return u.getsockname()[0]
`;

const RAW_TCP_PY = `${CSUM_PY}
dst, sport, dport, flags = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
hdr = struct.pack('!HHIIBBHHH', sport, dport, 1000, 2000, 5 << 4, flags, 65535, 0, 0)
if ':' in dst:
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_TCP)
    s.setsockopt(socket.IPPROTO_IPV6, 7, 16)  # IPV6_CHECKSUM at the TCP checksum's offset
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
    pseudo = socket.inet_aton(source_for(dst)) + socket.inet_aton(dst) + struct.pack('!BBH', 0, 6, len(hdr))
    hdr = hdr[:16] + struct.pack('!H', csum(pseudo + hdr)) + hdr[18:]
s.sendto(hdr, (dst, 0))
`;

/** TCP flag bits for sendRawTcp */
export const TcpFlag = { fin: 0x01, syn: 0x02, rst: 0x04, ack: 0x10 } as const;

/** Sends one bare TCP segment (no payload) from the namespace to dst:dport from sport. */
export function sendRawTcp(nsPath: string, dst: string, sport: number, dport: number, flags: number): void {
  runIn(nsPath, 'python3', ['-c', RAW_TCP_PY, dst, String(sport), String(dport), String(flags)]);
}

const UDP_PROBE_PY = `
import socket, sys
dst, port, size, df, timeout = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == '1', float(sys.argv[5]) / 1000
v6 = ':' in dst
s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM)
if df:
    if v6: s.setsockopt(socket.IPPROTO_IPV6, 23, 2)  # IPV6_MTU_DISCOVER = IPV6_PMTUDISC_DO
    else: s.setsockopt(socket.IPPROTO_IP, 10, 2)     # IP_MTU_DISCOVER = IP_PMTUDISC_DO
s.connect((dst, port))
s.settimeout(timeout)
s.send(b'x' * size)
try:
    s.recv(4096); print('reply')
except ConnectionRefusedError: print('refused')
except socket.timeout: print('timeout')
except OSError as e: print('error-%d' % e.errno)
`;

/** One UDP datagram of `size` bytes on a connected socket, then waits for an answer:
 *  'refused' = an ICMP port unreachable reached the socket, 'reply', 'timeout', or 'error-<errno>'
 *  (e.g. error-90 EMSGSIZE after a fragmentation-needed / packet-too-big). df: don't fragment. */
export function udpProbe(nsPath: string, dst: string, port: number, opts: { size?: number; df?: boolean; timeoutMs?: number } = {}): string {
  return runIn(nsPath, 'python3', ['-c', UDP_PROBE_PY, dst, String(port), String(opts.size ?? 16), opts.df ? '1' : '0', String(opts.timeoutMs ?? 1000)]).trim();
}

const ICMP_ERROR_PY = `${CSUM_PY}
dst, isrc, idst, isport, idport = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
udp = struct.pack('!HHHH', isport, idport, 8, 0)
if ':' in dst:
    inner = struct.pack('!IHBB', 6 << 28, 8, 17, 64) + socket.inet_pton(socket.AF_INET6, isrc) + socket.inet_pton(socket.AF_INET6, idst) + udp
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)  # kernel fills the checksum
    s.sendto(struct.pack('!BBHI', 1, 4, 0, 0) + inner, (dst, 0))  # destination unreachable, port unreachable
else:
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 28, 1, 0, 64, 17, 0, socket.inet_aton(isrc), socket.inet_aton(idst))
    ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
    body = struct.pack('!BBHI', 3, 3, 0, 0) + ip + udp  # destination unreachable, port unreachable
    body = body[:2] + struct.pack('!H', csum(body)) + body[4:]
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.sendto(body, (dst, 0))
`;

/** Sends an ICMP (IPv4) / ICMPv6 port-unreachable to dst whose embedded packet is the UDP datagram
 *  innerSrc:innerSport → innerDst:innerDport — an error about a packet the test chooses. */
export function sendIcmpPortUnreachable(nsPath: string, dst: string, inner: { src: string; dst: string; sport: number; dport: number }): void {
  runIn(nsPath, 'python3', ['-c', ICMP_ERROR_PY, dst, inner.src, inner.dst, String(inner.sport), String(inner.dport)]);
}

/** The path MTU the namespace has cached towards dst (`ip route get`), or undefined. */
export function cachedPathMtu(nsPath: string, dst: string): number | undefined {
  const out = runIn(nsPath, 'ip', [dst.includes(':') ? '-6' : '-4', 'route', 'get', dst]);
  const m = /\bmtu (\d+)/.exec(out);
  return m ? Number(m[1]) : undefined;
}
