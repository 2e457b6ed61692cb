export { parseIpLinkJson, type IpLinkParse, type IpWireGuardLink } from './parse-ip-link.js';
export { HANDSHAKE_RECENT_SECONDS, parseWgDump, type WgDumpInterface, type WgDumpParse } from './parse-wg-dump.js';
export {
  IP_COMMAND,
  MAX_INTERFACES,
  WG_COMMAND,
  combineEncryptionEvidence,
  readEncryptionEvidence,
  runCommand,
  type CommandResult,
  type CommandRunner,
  type EvidenceDiagnostics,
  type ReadEvidenceOptions,
} from './read-encryption-evidence.js';
export { EncryptionEvidenceMonitor, evidenceDigest, type EvidenceMonitorOptions } from './evidence-monitor.js';
