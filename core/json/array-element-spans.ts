/**
 * Where the elements of one array sit in a JSON text, so a caller can store or forward them without
 * serialising parsed objects again.
 *
 * Contract: `text` must be JSON that `JSON.parse` accepted (callers parse first — this scanner trusts the
 * syntax and does not validate it). The array is the value of `key` in the top-level object; as with
 * JSON.parse, the last of duplicate keys wins and keys are compared after unescaping. Each span is
 * `[start, end)` of one element without surrounding whitespace; `compactLength` is its length without
 * whitespace outside strings (for JSON.stringify's output, exactly the element's length), so sizes do not
 * depend on how the sender formatted the text. Returns undefined when the top level is not an object or
 * `key` does not hold an array.
 */
export interface ElementSpan {
  start: number;
  end: number;
  compactLength: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

export function arrayElementSpans(text: string, key: string): ElementSpan[] | undefined {
  let i = skipWhitespace(text, 0);
  if (text.charCodeAt(i) !== OPEN_BRACE) return undefined;
  let found: ElementSpan[] | undefined;
  i = skipWhitespace(text, i + 1);
  while (text.charCodeAt(i) === QUOTE) {
    const keyEnd = skipString(text, i);
    const matches = keyText(text, i, keyEnd) === key;
    i = skipWhitespace(text, keyEnd);
    if (text.charCodeAt(i) !== COLON) return undefined;
    i = skipWhitespace(text, i + 1);
    if (matches) {
      const scanned = text.charCodeAt(i) === OPEN_BRACKET ? scanElements(text, i) : undefined;
      found = scanned?.spans;
      i = scanned ? scanned.end : skipValue(text, i).end;
    } else {
      i = skipValue(text, i).end;
    }
    i = skipWhitespace(text, i);
    if (text.charCodeAt(i) !== COMMA) break;
    i = skipWhitespace(text, i + 1);
  }
  return found;
}

/** `i` at `[`: the spans of its elements and the index after `]`. */
function scanElements(text: string, i: number): { spans: ElementSpan[]; end: number } {
  const spans: ElementSpan[] = [];
  i = skipWhitespace(text, i + 1);
  if (text.charCodeAt(i) === CLOSE_BRACKET) return { spans, end: i + 1 };
  for (;;) {
    const value = skipValue(text, i);
    spans.push({ start: i, end: value.end, compactLength: value.end - i - value.whitespace });
    i = skipWhitespace(text, value.end);
    if (text.charCodeAt(i) !== COMMA) return { spans, end: i + 1 };
    i = skipWhitespace(text, i + 1);
  }
}

/** `i` at a value's first character: the index after it and how much whitespace outside strings it holds. */
function skipValue(text: string, i: number): { end: number; whitespace: number } {
  const first = text.charCodeAt(i);
  if (first === QUOTE) return { end: skipString(text, i), whitespace: 0 };
  if (first !== OPEN_BRACE && first !== OPEN_BRACKET) {
    let end = i + 1;
    while (end < text.length && !isValueEnd(text.charCodeAt(end))) end++;
    return { end, whitespace: 0 };
  }
  let depth = 0;
  let whitespace = 0;
  for (;;) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      i = skipString(text, i);
      continue;
    }
    if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
    else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      if (--depth === 0) return { end: i + 1, whitespace };
    } else if (isWhitespace(c)) whitespace++;
    i++;
  }
}

/** `i` at an opening quote: the index after the closing one. */
function skipString(text: string, i: number): number {
  for (;;) {
    const quote = text.indexOf('"', i + 1);
    if (quote < 0) throw new Error('unterminated string: the text is not JSON');
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return quote + 1;
    i = quote;
  }
}

function keyText(text: string, start: number, end: number): string {
  const raw = text.slice(start + 1, end - 1);
  return raw.includes('\\') ? (JSON.parse(text.slice(start, end)) as string) : raw;
}

function skipWhitespace(text: string, i: number): number {
  while (isWhitespace(text.charCodeAt(i))) i++;
  return i;
}

const isWhitespace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
const isValueEnd = (c: number): boolean => c === COMMA || c === CLOSE_BRACE || c === CLOSE_BRACKET || isWhitespace(c);
