/**
 * Pure: the output of `ip -j -d link show type wireguard` (iproute2's JSON: an array of link objects)
 * → the WireGuard links it lists. A link is WireGuard when `linkinfo.info_kind` is "wireguard" (so the
 * wider `ip -j -d link show` / `ip -j -d addr show` outputs parse too: other kinds are ignored).
 *
 * `up`: the flags hold both UP (administratively up) and LOWER_UP (carrier), and operstate is not DOWN.
 * A WireGuard link's operstate is UNKNOWN while it runs (it has no carrier detection), so operstate
 * alone is read only when the flags are absent: then `up` is operstate === "UP", or absent without it.
 *
 * Empty objects are skipped without counting: iproute2 6.1 prints `{}` for every link its `type` filter
 * drops (captured on this machine: agent/testdata/encryption-evidence/). Any other entry that is not an
 * object with a string `ifname` (≤ 64 characters) is skipped and counted as malformed. Output that is
 * not a JSON array is an error value, never a throw.
 */

export interface IpWireGuardLink {
  name: string;
  up?: boolean;
}

export interface IpLinkParse {
  links: IpWireGuardLink[];
  /** entries skipped as not a link (non-empty, without a usable ifname) */
  malformed: number;
  /** set when the text is not a JSON array (then `links` is empty) */
  error?: string;
}

const NAME_MAX = 64;

export function parseIpLinkJson(text: string): IpLinkParse {
  let data: unknown;
  try {
    data = JSON.parse(text.trim() === '' ? '[]' : text);
  } catch {
    return { links: [], malformed: 0, error: 'ip printed something that is not JSON' };
  }
  if (!Array.isArray(data)) return { links: [], malformed: 0, error: 'ip printed JSON that is not an array of links' };
  const links: IpWireGuardLink[] = [];
  let malformed = 0;
  for (const entry of data) {
    if (!isObject(entry)) {
      malformed += 1;
      continue;
    }
    if (Object.keys(entry).length === 0) continue; // iproute2's placeholder for a filtered-out link
    const name = entry['ifname'];
    if (typeof name !== 'string' || name === '' || name.length > NAME_MAX) {
      malformed += 1;
      continue;
    }
    const info = entry['linkinfo'];
    if (!isObject(info) || info['info_kind'] !== 'wireguard') continue;
    const up = upOf(entry['flags'], entry['operstate']);
    links.push({ name, ...(up === undefined ? {} : { up }) });
  }
  return { links, malformed };
}

function upOf(flags: unknown, operstate: unknown): boolean | undefined {
  if (Array.isArray(flags)) return flags.includes('UP') && flags.includes('LOWER_UP') && operstate !== 'DOWN';
  if (typeof operstate === 'string') return operstate === 'UP';
  return undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
