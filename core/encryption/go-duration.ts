/**
 * Go's time.ParseDuration syntax: an optional sign, then one or more `<decimal><unit>` pairs with units
 * ns, us, µs (U+00B5), μs (U+03BC), ms, s, m, h — e.g. `5m`, `24h0m0s`, `1.5h`; `0` alone is allowed.
 * Contract: returns nanoseconds as a number (may lose precision past 2^53 ns ≈ 104 days — fine for a
 * positivity check), or a reason string when the text is not a Go duration.
 */
const UNIT_NS: Readonly<Record<string, number>> = {
  ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9,
};

export function parseGoDuration(text: string): number | string {
  if (text === '0' || text === '+0' || text === '-0') return 0;
  const match = /^([-+]?)(.+)$/u.exec(text);
  if (!match || text === '') return 'must be a Go duration such as "5m" or "24h0m0s"';
  const sign = match[1] === '-' ? -1 : 1;
  const body = match[2] ?? '';
  const part = /((?:[0-9]+(?:\.[0-9]*)?)|(?:\.[0-9]+))(ns|us|µs|μs|ms|s|m|h)/uy;
  let total = 0;
  let pos = 0;
  while (pos < body.length) {
    part.lastIndex = pos;
    const m = part.exec(body);
    if (!m) return `"${text}" is not a Go duration (expected <number><unit> with unit ns, us, ms, s, m or h)`;
    total += Number(m[1]) * (UNIT_NS[m[2] ?? ''] ?? 0);
    pos = part.lastIndex;
  }
  return sign * total;
}
