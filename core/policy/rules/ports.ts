/**
 * L4 ports of `toPorts[].ports[]`, mirroring Cilium's PortProtocol validation.
 *
 * Contracts:
 * - `port` is a decimal number 0–65535 (no sign, no leading zeros: Go's ParseUint(base 0) would read
 *   `010` as octal 8, so fleetnet refuses the ambiguity) or a named port. `0` means any port.
 * - A named port is an IANA_SVC_NAME: 1–15 characters of lower-case a-z, 0-9 and '-', at least one
 *   letter, no leading/trailing '-' and no '--'. Named ports resolve per pod, so they take no range.
 * - `endPort` needs a numeric, non-zero `port` and must be ≥ `port` (port..endPort inclusive).
 * - Protocols without ports (VRRP, IGMP) only take port `0` (Cilium: "port must be empty or 0").
 */
import type { FieldError, PortProtocol } from '../../../openapi/types.js';
import { appendPointer } from '../../json/json-pointer.js';

export type ParsedPort = { kind: 'number'; value: number } | { kind: 'name'; value: string };

const PORTLESS_PROTOCOLS: ReadonlySet<string> = new Set(['VRRP', 'IGMP']);

export function describeServiceNameProblem(name: string): string | undefined {
  if (name.length < 1 || name.length > 15) return 'must be 1 to 15 characters';
  if (!/^[a-z0-9-]+$/.test(name)) return 'may only contain lower-case letters, digits and "-"';
  if (!/[a-z]/.test(name)) return 'must contain at least one letter';
  if (name.startsWith('-') || name.endsWith('-')) return 'must not start or end with "-"';
  if (name.includes('--')) return 'must not contain "--"';
  return undefined;
}

/** Parses a port string; returns a reason string when invalid. */
export function parsePort(text: string): ParsedPort | string {
  if (/^[0-9]+$/.test(text)) {
    if (text.length > 1 && text.startsWith('0')) return `port "${text}" must not have leading zeros`;
    const value = Number(text);
    if (value > 65535) return `port ${text} is out of range 0–65535`;
    return { kind: 'number', value };
  }
  const problem = describeServiceNameProblem(text);
  if (problem) return `port "${text}" is neither a number 0–65535 nor a valid port name: a port name ${problem}`;
  return { kind: 'name', value: text };
}

export function validatePortProtocol(port: PortProtocol, pointer: string): FieldError[] {
  const errors: FieldError[] = [];
  const at = (field: string): string => appendPointer(pointer, field);
  const parsed = parsePort(port.port);
  if (typeof parsed === 'string') {
    errors.push({ pointer: at('port'), message: parsed, rule: 'port' });
    return errors;
  }
  if (port.protocol && PORTLESS_PROTOCOLS.has(port.protocol) && !(parsed.kind === 'number' && parsed.value === 0)) {
    errors.push({ pointer: at('port'), message: `protocol ${port.protocol} has no ports: port must be "0"`, rule: 'port' });
  }
  if (port.endPort !== undefined) {
    if (parsed.kind === 'name') {
      errors.push({ pointer: at('endPort'), message: 'endPort needs a numeric port, not a named port', rule: 'port-range' });
    } else if (parsed.value === 0) {
      errors.push({ pointer: at('endPort'), message: 'endPort needs a non-zero port (port 0 already means any port)', rule: 'port-range' });
    } else if (port.endPort < parsed.value) {
      errors.push({ pointer: at('endPort'), message: `endPort ${port.endPort} must be ≥ port ${parsed.value}`, rule: 'port-range' });
    }
  }
  return errors;
}
