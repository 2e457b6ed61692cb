/**
 * Pure: the output of `wg show all dump` → per interface its listen port, peer count and the peers with
 * a recent handshake. Format (wg(8), "show … dump" with `all`: the first field is the interface name;
 * checked against wireguard-tools src/show.c `dump_print`), one line per record, fields TAB-separated:
 *
 *   interface: ifname private-key public-key listen-port fwmark                                    (5)
 *   peer:      ifname public-key preshared-key endpoint allowed-ips latest-handshake transfer-rx
 *              transfer-tx persistent-keepalive                                                   (9)
 *
 * latest-handshake is seconds since the Unix epoch, 0 when there was none; a peer counts as "with
 * handshake" when it is at most HANDSHAKE_RECENT_SECONDS before `now` (WireGuard re-keys every 2 min,
 * so a live session has a handshake at most ~2 min old; 3 min is the usual liveness cut-off).
 *
 * Secrets: the private key (interface field 2) and the preshared key (peer field 3) are never read into
 * the result, and neither are public keys, endpoints or allowed IPs: only the ifname, the listen port
 * and the handshake time are parsed. Malformed lines (another field count, a non-numeric port or
 * handshake, an empty or over-long ifname) are skipped and counted; nothing here throws, and nothing
 * from a line is ever copied into an error.
 */

export const HANDSHAKE_RECENT_SECONDS = 180;

export interface WgDumpInterface {
  /** from the interface line; absent when the dump has peers but no interface line for it */
  listenPort?: number;
  peers: number;
  peersWithHandshake: number;
}

export interface WgDumpParse {
  interfaces: Map<string, WgDumpInterface>;
  /** non-empty lines read */
  lines: number;
  /** lines skipped as malformed */
  malformed: number;
}

const NAME_MAX = 64;
const UINT = /^\d{1,20}$/;

export function parseWgDump(text: string, now: Date): WgDumpParse {
  const nowSeconds = Math.floor(now.getTime() / 1000);
  const interfaces = new Map<string, WgDumpInterface>();
  const entry = (name: string) => {
    let e = interfaces.get(name);
    if (!e) {
      e = { peers: 0, peersWithHandshake: 0 };
      interfaces.set(name, e);
    }
    return e;
  };
  let lines = 0;
  let malformed = 0;
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line === '') continue;
    lines += 1;
    const fields = line.split('\t');
    const name = fields[0]!;
    if (name === '' || name.length > NAME_MAX || /\s/.test(name)) {
      malformed += 1;
      continue;
    }
    if (fields.length === 5) {
      const port = fields[3]!;
      const n = UINT.test(port) ? Number(port) : NaN;
      if (!(n >= 0 && n <= 65535)) {
        malformed += 1;
        continue;
      }
      entry(name).listenPort = n;
    } else if (fields.length === 9) {
      const handshake = fields[5]!;
      if (!UINT.test(handshake)) {
        malformed += 1;
        continue;
      }
      const at = Number(handshake);
      const e = entry(name);
      e.peers += 1;
      if (at > 0 && nowSeconds - at <= HANDSHAKE_RECENT_SECONDS) e.peersWithHandshake += 1;
    } else {
      malformed += 1;
    }
  }
  return { interfaces, lines, malformed };
}
