/**
 * What the node itself shows about transparent encryption (Node.status.encryption): the WireGuard links
 * `ip -j -d link show type wireguard` lists and, for them, what `wg show all dump` says (listen port,
 * peers, peers with a handshake in the last 3 minutes). Both run with execFile (no shell), a timeout,
 * bounded output and LC_ALL=C; inside `netnsPath` through `nsenter --net=` when one is given.
 *
 * How the two are combined (combineEncryptionEvidence, pure):
 *   ip fails (not installed, exit ≠ 0, timeout, output too large, not JSON)
 *       → `error` set, `wireguardInterfaces: []` (the schema: then the list means nothing); wg is not run
 *   ip lists no WireGuard link → `wireguardInterfaces: []`, no error: "no tunnel"; wg is not run
 *   wg not installed (ENOENT)  → the links from ip, without listenPort/peers/peersWithHandshake
 *   wg not permitted (it needs CAP_NET_ADMIN to read a device: EACCES/EPERM, or "Operation not
 *       permitted" on stderr) → the same as not installed; `source` says why. Not an `error`: the
 *       link list from ip is still true, only the peer detail is missing
 *   wg fails otherwise (timeout, exit ≠ 0, too much output) → the same, with the reason in `source`
 *   wg ran → links from ip, each with the dump's listenPort/peers/peersWithHandshake when the dump has it
 *       (a link wg could not read stays without them); interfaces only in the dump are ignored: ip is the
 *       authority on which links exist
 * At most 16 interfaces (the schema's maxItems), in ip's order; `source` says when more were cut.
 *
 * Keys are never read (parse-wg-dump.ts), and no command output is copied into `error` or `source`:
 * they carry only fixed phrases, exit codes and error codes.
 */
import { execFile } from 'node:child_process';
import type { NodeEncryptionEvidence, WireGuardInterfaceEvidence } from '../../../openapi/types.js';
import { parseIpLinkJson } from './parse-ip-link.js';
import { parseWgDump } from './parse-wg-dump.js';

export const IP_COMMAND = ['ip', '-j', '-d', 'link', 'show', 'type', 'wireguard'] as const;
export const WG_COMMAND = ['wg', 'show', 'all', 'dump'] as const;
export const MAX_INTERFACES = 16;
const PEERS_MAX = 1_000_000;
const SOURCE_MAX = 128;
const ERROR_MAX = 1024;

/** The outcome of one command, without its stderr (which is only classified, never kept). */
export type CommandResult =
  | { ok: true; stdout: string }
  | {
      ok: false;
      /** ENOENT: not installed; EACCES/EPERM: not permitted; TIMEOUT; TOO_LARGE; EXIT: exit status ≠ 0 */
      reason: 'ENOENT' | 'EACCES' | 'EPERM' | 'TIMEOUT' | 'TOO_LARGE' | 'EXIT' | 'OTHER';
      exitCode?: number;
    };

export interface CommandOptions {
  timeoutMs: number;
  maxBytes: number;
}

/** Runs argv[0] with argv[1…]; never throws. */
export type CommandRunner = (argv: readonly string[], options: CommandOptions) => Promise<CommandResult>;

export interface ReadEvidenceOptions {
  run?: CommandRunner;
  /** run both commands in this network namespace (a path such as /run/netns/<ns>) */
  netnsPath?: string;
  now?: () => Date;
  /** per command (default 5000) */
  timeoutMs?: number;
  /** malformed-line counts and command failures, without any output text */
  log?: (level: 'info' | 'warn', message: string, fields?: Record<string, unknown>) => void;
}

const IP_BYTES = 1024 * 1024;
/** a dump line is ~200 bytes: room for ~40 000 peers */
const WG_BYTES = 8 * 1024 * 1024;

/** Reads the evidence of this node now. Never throws. */
export async function readEncryptionEvidence(options: ReadEvidenceOptions = {}): Promise<NodeEncryptionEvidence> {
  const run = options.run ?? runCommand;
  const timeoutMs = options.timeoutMs ?? 5000;
  const inNs = (argv: readonly string[]) => (options.netnsPath ? ['nsenter', `--net=${options.netnsPath}`, '--', ...argv] : [...argv]);
  const ip = await run(inNs(IP_COMMAND), { timeoutMs, maxBytes: IP_BYTES });
  let wg: CommandResult | undefined;
  if (ip.ok && parseIpLinkJson(ip.stdout).links.length > 0) wg = await run(inNs(WG_COMMAND), { timeoutMs, maxBytes: WG_BYTES });
  const now = (options.now ?? (() => new Date()))();
  const { evidence, diagnostics } = combineEncryptionEvidence(ip, wg, now);
  if (diagnostics.malformedIpEntries > 0 || diagnostics.malformedDumpLines > 0) options.log?.('warn', 'encryption evidence: malformed entries skipped', { ...diagnostics });
  if (!ip.ok || (wg && !wg.ok)) options.log?.('warn', 'encryption evidence: a command failed', { source: evidence.source, ...(evidence.error ? { error: evidence.error } : {}) });
  return evidence;
}

export interface EvidenceDiagnostics {
  malformedIpEntries: number;
  malformedDumpLines: number;
}

/** Pure: the two commands' results → the evidence (see the table at the top). `wg` undefined: not run. */
export function combineEncryptionEvidence(ip: CommandResult, wg: CommandResult | undefined, now: Date): { evidence: NodeEncryptionEvidence; diagnostics: EvidenceDiagnostics } {
  const observedAt = now.toISOString();
  const ipSource = IP_COMMAND.join(' ');
  const diagnostics: EvidenceDiagnostics = { malformedIpEntries: 0, malformedDumpLines: 0 };
  if (!ip.ok) {
    return { evidence: { observedAt, source: ipSource, wireguardInterfaces: [], error: cap(`ip: ${describeFailure(ip)}`, ERROR_MAX) }, diagnostics };
  }
  const parsed = parseIpLinkJson(ip.stdout);
  diagnostics.malformedIpEntries = parsed.malformed;
  if (parsed.error) return { evidence: { observedAt, source: ipSource, wireguardInterfaces: [], error: cap(`ip: ${parsed.error}`, ERROR_MAX) }, diagnostics };
  const links = parsed.links.slice(0, MAX_INTERFACES);
  const cut = parsed.links.length > MAX_INTERFACES ? ` (first ${MAX_INTERFACES} of ${parsed.links.length})` : '';
  if (links.length === 0) return { evidence: { observedAt, source: ipSource, wireguardInterfaces: [] }, diagnostics };
  const base = links.map((l): WireGuardInterfaceEvidence => ({ name: l.name, ...(l.up === undefined ? {} : { up: l.up }) }));
  if (!wg) return { evidence: { observedAt, source: cap(`${ipSource}${cut}`, SOURCE_MAX), wireguardInterfaces: base }, diagnostics };
  if (!wg.ok) {
    const why = wg.reason === 'ENOENT' ? 'wg not installed' : wg.reason === 'EACCES' || wg.reason === 'EPERM' ? 'wg not permitted: needs CAP_NET_ADMIN' : `wg failed: ${describeFailure(wg)}`;
    return { evidence: { observedAt, source: cap(`${ipSource}${cut}; ${why}`, SOURCE_MAX), wireguardInterfaces: base }, diagnostics };
  }
  const dump = parseWgDump(wg.stdout, now);
  diagnostics.malformedDumpLines = dump.malformed;
  const wireguardInterfaces = base.map((b): WireGuardInterfaceEvidence => {
    const d = dump.interfaces.get(b.name);
    if (!d) return b;
    return {
      ...b,
      ...(d.listenPort === undefined ? {} : { listenPort: d.listenPort }),
      peers: Math.min(d.peers, PEERS_MAX),
      peersWithHandshake: Math.min(d.peersWithHandshake, PEERS_MAX),
    };
  });
  return { evidence: { observedAt, source: cap(`${ipSource}; ${WG_COMMAND.join(' ')}${cut}`, SOURCE_MAX), wireguardInterfaces }, diagnostics };
}

function describeFailure(r: Extract<CommandResult, { ok: false }>): string {
  switch (r.reason) {
    case 'ENOENT':
      return 'not installed';
    case 'EACCES':
    case 'EPERM':
      return 'not permitted';
    case 'TIMEOUT':
      return 'timed out';
    case 'TOO_LARGE':
      return 'output too large';
    case 'EXIT':
      return `exit status ${r.exitCode ?? 'unknown'}`;
    default:
      return 'could not run';
  }
}

const cap = (s: string, max: number) => (s.length > max ? `${s.slice(0, max - 1)}…` : s);

/** nsenter's "failed to execute wg: No such file or directory" and wg's "Operation not permitted". */
const NOT_FOUND_STDERR = /No such file or directory|command not found/;
const NOT_PERMITTED_STDERR = /Operation not permitted|Permission denied/;

/** The real runner: execFile, no shell, LC_ALL=C, SIGKILL on timeout, stdout bounded to maxBytes. */
export const runCommand: CommandRunner = (argv, options) =>
  new Promise((resolve) => {
    const [file, ...args] = argv;
    execFile(
      file!,
      args,
      { timeout: options.timeoutMs, killSignal: 'SIGKILL', maxBuffer: options.maxBytes, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' }, windowsHide: true },
      (error, stdout, stderr) => {
        if (!error) {
          resolve({ ok: true, stdout });
          return;
        }
        const e = error as NodeJS.ErrnoException & { code?: string | number; killed?: boolean; signal?: string | null };
        if (e.code === 'ENOENT') resolve({ ok: false, reason: 'ENOENT' });
        else if (e.code === 'EACCES' || e.code === 'EPERM') resolve({ ok: false, reason: e.code });
        else if (e.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') resolve({ ok: false, reason: 'TOO_LARGE' });
        else if (e.killed || e.signal === 'SIGKILL') resolve({ ok: false, reason: 'TIMEOUT' });
        else if (typeof e.code === 'number') {
          const err = String(stderr ?? '');
          if (e.code === 127 && NOT_FOUND_STDERR.test(err)) resolve({ ok: false, reason: 'ENOENT' });
          else if (NOT_PERMITTED_STDERR.test(err)) resolve({ ok: false, reason: 'EPERM', exitCode: e.code });
          else resolve({ ok: false, reason: 'EXIT', exitCode: e.code });
        } else resolve({ ok: false, reason: 'OTHER' });
      },
    );
  });
