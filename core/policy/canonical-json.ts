/**
 * Canonical JSON: object keys sorted by UTF-16 code unit order, no whitespace, array order kept.
 * Contract: two values that are equal as JSON data produce the same string, so the result can feed
 * ETags and idempotency comparisons. Follows JSON.stringify for everything else: `undefined`,
 * functions and symbols are dropped from objects (null in arrays), non-finite numbers become null,
 * `toJSON()` is honoured. A bigint or a cycle throws.
 */
export function canonicalJson(value: unknown): string {
  const out = serialize(value, new Set());
  return out ?? 'null';
}

function serialize(value: unknown, seen: Set<object>): string | undefined {
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    value = (value as { toJSON: () => unknown }).toJSON();
  }
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : 'null';
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
    case 'bigint':
      throw new TypeError('canonicalJson: bigint is not representable in JSON');
    default:
      break;
  }
  const obj = value as object;
  if (seen.has(obj)) throw new TypeError('canonicalJson: cyclic structure');
  seen.add(obj);
  try {
    if (Array.isArray(obj)) {
      return '[' + obj.map((item) => serialize(item, seen) ?? 'null').join(',') + ']';
    }
    const record = obj as Record<string, unknown>;
    const parts: string[] = [];
    for (const key of Object.keys(record).sort()) {
      const item = serialize(record[key], seen);
      if (item !== undefined) parts.push(JSON.stringify(key) + ':' + item);
    }
    return '{' + parts.join(',') + '}';
  } finally {
    seen.delete(obj);
  }
}
