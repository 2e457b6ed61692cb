/**
 * A regular-expression matcher without backtracking, for patterns that come from API callers (Hubble's
 * `dns_query` is RE2, which is linear-time; JavaScript's RegExp backtracks and `(a+)+$` would stall a
 * query over millions of summaries).
 *
 * Contract:
 * - `compileSafeRegex(pattern)` → `{ test }` or `{ error }` (a message that never echoes the pattern).
 * - `test(text)` is true when the pattern matches some substring of `text` (unanchored, like RE2's
 *   MatchString; `^` / `$` anchor at the text's start / end), case-insensitively (ASCII letters).
 * - Syntax (an RE2 subset): literals; `.` (any character); classes `[abc]`, `[a-z]`, `[^…]` with escapes
 *   inside; `\d \w \s \D \W \S`; `\` before any non-alphanumeric character is that character; `^`, `$`;
 *   groups `( … )` and `(?: … )`; alternation `|`; `*`, `+`, `?`, `{n}`, `{n,}`, `{n,m}` (n, m ≤ 100), each
 *   optionally followed by `?` (lazy: the same answer for a yes/no match); a leading `(?i)` (a no-op).
 *   Anything else — backreferences,
 *   lookaround, named groups, flags, `\b`, unbalanced parentheses, a quantifier with nothing to repeat —
 *   is an error.
 * - Cost: the pattern compiles to at most MAX_INSTRUCTIONS instructions (else an error); matching simulates
 *   the NFA over the text (Thompson), O(text length × instructions) in the worst case, with the sets of states
 *   reached cached as a lazy DFA (bounded to MAX_CACHED_STATES, then flushed — also in the middle of one long
 *   text) so the usual cost is one map lookup per character.
 * - Options (each off by default, which is the behaviour above):
 *   - `caseSensitive`: letters match only their own case, as in RE2 by default; a leading `(?i)` then turns
 *     case folding (ASCII letters) back on for the whole pattern.
 *   - `fullMatch`: the pattern must match the whole text, as RE2's FullMatch and Envoy's `safe_regex` do — the
 *     same as `^(?:pattern)$` but applied to the parsed pattern, so no text of the pattern can escape the group.
 */

export type SafeRegex = { test(text: string): boolean };

export interface SafeRegexOptions {
  /** Letters match only their own case; a leading `(?i)` folds case again. Default false (case-insensitive). */
  caseSensitive?: boolean;
  /** The pattern must match the whole text (RE2 FullMatch). Default false (unanchored, RE2 MatchString). */
  fullMatch?: boolean;
}

const MAX_REPEAT = 100;
const MAX_INSTRUCTIONS = 2000;
const MAX_CACHED_STATES = 2000;

type CharTest = (code: number) => boolean;
type Node =
  | { kind: 'char'; test: CharTest }
  | { kind: 'begin' }
  | { kind: 'end' }
  | { kind: 'empty' }
  | { kind: 'concat'; parts: Node[] }
  | { kind: 'alt'; options: Node[] }
  | { kind: 'repeat'; node: Node; min: number; max: number | undefined };

type Instruction =
  | { op: 'char'; test: CharTest; next: number }
  | { op: 'split'; next: number; alt: number }
  | { op: 'jump'; next: number }
  | { op: 'begin'; next: number }
  | { op: 'end'; next: number }
  | { op: 'match' };

class PatternError extends Error {}

export function compileSafeRegex(pattern: string, options: SafeRegexOptions = {}): SafeRegex | { error: string } {
  try {
    // `(?i)` is accepted as a prefix: without `caseSensitive` matching is case-insensitive anyway.
    const foldCase = !options.caseSensitive || pattern.startsWith('(?i)');
    const parser = new Parser(pattern.startsWith('(?i)') ? pattern.slice(4) : pattern, foldCase ? caseless : (test) => test);
    const parsed = parser.parseAll();
    const ast: Node = options.fullMatch ? { kind: 'concat', parts: [{ kind: 'begin' }, { kind: 'concat', parts: [parsed] }, { kind: 'end' }] } : parsed;
    const program = new Compiler().compile(ast);
    return new LazyDfa(program);
  } catch (error) {
    if (error instanceof PatternError) return { error: error.message };
    throw error;
  }
}

const lower = (c: number): number => (c >= 65 && c <= 90 ? c + 32 : c);
const upper = (c: number): number => (c >= 97 && c <= 122 ? c - 32 : c);
const isDigit: CharTest = (c) => c >= 48 && c <= 57;
const isWord: CharTest = (c) => isDigit(c) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
const isSpace: CharTest = (c) => c === 32 || (c >= 9 && c <= 13);
const caseless = (test: CharTest): CharTest => (c) => test(c) || test(lower(c)) || test(upper(c));

class Parser {
  private pos = 0;
  constructor(
    private readonly text: string,
    private readonly fold: (test: CharTest) => CharTest,
  ) {}

  parseAll(): Node {
    const node = this.parseAlternation();
    if (this.pos < this.text.length) throw new PatternError(`unexpected ")" at offset ${this.pos}`);
    return node;
  }

  private parseAlternation(): Node {
    const options = [this.parseConcat()];
    while (this.peek() === '|') {
      this.pos++;
      options.push(this.parseConcat());
    }
    return options.length === 1 ? options[0]! : { kind: 'alt', options };
  }

  private parseConcat(): Node {
    const parts: Node[] = [];
    while (this.pos < this.text.length && this.peek() !== '|' && this.peek() !== ')') {
      parts.push(this.parseQuantified());
    }
    return parts.length === 0 ? { kind: 'empty' } : parts.length === 1 ? parts[0]! : { kind: 'concat', parts };
  }

  private parseQuantified(): Node {
    const start = this.pos;
    let node = this.parseAtom();
    for (;;) {
      const c = this.peek();
      let bounds: { min: number; max: number | undefined } | undefined;
      if (c === '*') bounds = { min: 0, max: undefined };
      else if (c === '+') bounds = { min: 1, max: undefined };
      else if (c === '?') bounds = { min: 0, max: 1 };
      else if (c === '{') bounds = this.tryBraces();
      if (!bounds) return node;
      if (c !== '{') this.pos++;
      if (node.kind === 'begin' || node.kind === 'end' || node.kind === 'empty') throw new PatternError(`nothing to repeat at offset ${start}`);
      if (node.kind === 'repeat') throw new PatternError(`repeated quantifier at offset ${this.pos - 1}`);
      if (this.peek() === '?') this.pos++;
      node = { kind: 'repeat', node, ...bounds };
    }
  }

  /** `{n}`, `{n,}`, `{n,m}` at pos (consumed), or undefined when the brace is not a repetition (a literal, as in RE2). */
  private tryBraces(): { min: number; max: number | undefined } | undefined {
    const m = /^\{(\d{1,4})(,(\d{0,4}))?\}/.exec(this.text.slice(this.pos));
    if (!m) return undefined;
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === '' ? undefined : Number(m[3]);
    if (min > MAX_REPEAT || (max !== undefined && max > MAX_REPEAT)) throw new PatternError(`repetition count above ${MAX_REPEAT} at offset ${this.pos}`);
    if (max !== undefined && max < min) throw new PatternError(`invalid repetition range at offset ${this.pos}`);
    this.pos += m[0].length;
    return { min, max };
  }

  private parseAtom(): Node {
    const at = this.pos;
    const c = this.text[this.pos++]!;
    switch (c) {
      case '.':
        return { kind: 'char', test: () => true };
      case '^':
        return { kind: 'begin' };
      case '$':
        return { kind: 'end' };
      case '[':
        return { kind: 'char', test: this.fold(this.parseClass(at)) };
      case '\\':
        return { kind: 'char', test: this.fold(this.parseEscape(at)) };
      case '(': {
        if (this.peek() === '?') {
          if (this.text.slice(this.pos, this.pos + 2) !== '?:') throw new PatternError(`unsupported group syntax "(?" at offset ${at}`);
          this.pos += 2;
        }
        const inner = this.parseAlternation();
        if (this.peek() !== ')') throw new PatternError(`missing ")" for the group at offset ${at}`);
        this.pos++;
        return { kind: 'concat', parts: [inner] }; // a group: a quantifier after it repeats the whole group
      }
      case '*':
      case '+':
      case '?':
        throw new PatternError(`nothing to repeat at offset ${at}`);
      default: {
        const code = c.charCodeAt(0);
        return { kind: 'char', test: this.fold((x) => x === code) };
      }
    }
  }

  private parseEscape(at: number): CharTest {
    const c = this.text[this.pos++];
    if (c === undefined) throw new PatternError(`trailing "\\" at offset ${at}`);
    switch (c) {
      case 'd': return isDigit;
      case 'D': return (x) => !isDigit(x);
      case 'w': return isWord;
      case 'W': return (x) => !isWord(x);
      case 's': return isSpace;
      case 'S': return (x) => !isSpace(x);
      case 'n': return (x) => x === 10;
      case 't': return (x) => x === 9;
      default: {
        if (/[A-Za-z0-9]/.test(c)) throw new PatternError(`unsupported escape "\\${c}" at offset ${at}`);
        const code = c.charCodeAt(0);
        return (x) => x === code;
      }
    }
  }

  private parseClass(at: number): CharTest {
    const negated = this.peek() === '^';
    if (negated) this.pos++;
    const tests: CharTest[] = [];
    let first = true;
    for (;;) {
      const c = this.text[this.pos];
      if (c === undefined) throw new PatternError(`missing "]" for the class at offset ${at}`);
      if (c === ']' && !first) {
        this.pos++;
        break;
      }
      first = false;
      const low = this.classAtom(at);
      if (this.peek() === '-' && this.text[this.pos + 1] !== undefined && this.text[this.pos + 1] !== ']') {
        this.pos++;
        const high = this.classAtom(at);
        if (typeof low !== 'number' || typeof high !== 'number') throw new PatternError(`invalid class range at offset ${at}`);
        if (high < low) throw new PatternError(`invalid class range at offset ${at}`);
        tests.push((x) => x >= low && x <= high);
      } else {
        tests.push(typeof low === 'number' ? (x) => x === low : low);
      }
    }
    const member = this.fold((x) => tests.some((t) => t(x)));
    return negated ? (x) => !member(x) : member;
  }

  /** A character code, or a test for `\d`-style escapes. */
  private classAtom(at: number): number | CharTest {
    const c = this.text[this.pos++]!;
    if (c === '[' && this.peek() === ':') throw new PatternError(`POSIX classes are not supported (offset ${at})`);
    if (c !== '\\') return c.charCodeAt(0);
    const e = this.text[this.pos];
    if (e !== undefined && /[A-Za-z0-9]/.test(e) && !'dDwWsSnt'.includes(e)) throw new PatternError(`unsupported escape "\\${e}" at offset ${this.pos - 1}`);
    if (e === 'n') return (this.pos++, 10);
    if (e === 't') return (this.pos++, 9);
    const test = this.parseEscape(at);
    return e !== undefined && /[dDwWsS]/.test(e) ? test : e!.charCodeAt(0);
  }

  private peek(): string | undefined {
    return this.text[this.pos];
  }
}

class Compiler {
  private readonly program: Instruction[] = [];

  compile(ast: Node): Instruction[] {
    const end = this.emit(ast);
    this.patch(end, this.push({ op: 'match' }));
    return this.program;
  }

  private push(instruction: Instruction): number {
    if (this.program.length >= MAX_INSTRUCTIONS) throw new PatternError(`pattern too large (over ${MAX_INSTRUCTIONS} instructions once repetitions are expanded)`);
    this.program.push(instruction);
    return this.program.length - 1;
  }

  /** Emits `node`; returns the instructions whose `next` must point to what follows (dangling = -1). */
  private emit(node: Node): number[] {
    switch (node.kind) {
      case 'char':
        return [this.push({ op: 'char', test: node.test, next: -1 })];
      case 'begin':
        return [this.push({ op: 'begin', next: -1 })];
      case 'end':
        return [this.push({ op: 'end', next: -1 })];
      case 'empty':
        return [this.push({ op: 'jump', next: -1 })];
      case 'concat': {
        let dangling = this.emit(node.parts[0]!);
        for (const part of node.parts.slice(1)) {
          const start = this.program.length;
          const next = this.emit(part);
          this.patch(dangling, start);
          dangling = next;
        }
        return dangling;
      }
      case 'alt': {
        const splits: number[] = [];
        const ends: number[] = [];
        node.options.forEach((option, i) => {
          if (i < node.options.length - 1) {
            const split = this.push({ op: 'split', next: this.program.length + 1, alt: -1 });
            splits.push(split);
            ends.push(...this.emit(option));
            (this.program[split] as { alt: number }).alt = this.program.length;
          } else {
            ends.push(...this.emit(option));
          }
        });
        return ends;
      }
      case 'repeat':
        return this.emitRepeat(node.node, node.min, node.max);
    }
  }

  private emitRepeat(node: Node, min: number, max: number | undefined): number[] {
    let dangling: number[] | undefined;
    const chain = (emitPart: () => number[]) => {
      const start = this.program.length;
      const next = emitPart();
      if (dangling) this.patch(dangling, start);
      dangling = next;
    };
    for (let i = 0; i < min; i++) chain(() => this.emit(node));
    if (max === undefined) {
      // L: split(body, out); body; jump L
      chain(() => {
        const split = this.push({ op: 'split', next: this.program.length + 1, alt: -1 });
        const body = this.emit(node);
        this.patch(body, this.push({ op: 'jump', next: split }));
        return [split];
      });
      // the loop's exit is the split's alt
      return this.altOf(dangling!);
    }
    for (let i = min; i < max; i++) {
      chain(() => {
        const split = this.push({ op: 'split', next: this.program.length + 1, alt: -1 });
        return [...this.emit(node), ...this.altOf([split])];
      });
    }
    if (!dangling) return [this.push({ op: 'jump', next: -1 })];
    return dangling;
  }

  /** Split instructions whose `alt` is the dangling exit: marked with a negative encoding (−2 − index). */
  private altOf(splits: number[]): number[] {
    return splits.map((s) => -2 - s);
  }

  private patch(dangling: number[], target: number): void {
    for (const d of dangling) {
      if (d <= -2) {
        (this.program[-2 - d] as { alt: number }).alt = target;
        continue;
      }
      const instruction = this.program[d]!;
      if (instruction.op !== 'match') (instruction as { next: number }).next = target;
    }
  }
}

interface DfaState {
  pcs: number[];
  /** the state contains `match`: the pattern has matched (unanchored: no need to read further) */
  matched: boolean;
  next: Map<number, DfaState>;
}

class LazyDfa implements SafeRegex {
  private cache = new Map<string, DfaState>();
  private initial: DfaState | undefined;

  constructor(private readonly program: Instruction[]) {}

  test(text: string): boolean {
    if (this.cache.size > MAX_CACHED_STATES) {
      this.cache = new Map();
      this.initial = undefined;
    }
    let state = (this.initial ??= this.state(this.closure([0], true)));
    if (state.matched) return true;
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      let next = state.next.get(code);
      if (!next) {
        const stepped: number[] = [];
        for (const pc of state.pcs) {
          const instruction = this.program[pc]!;
          if (instruction.op === 'char' && instruction.test(code)) stepped.push(instruction.next);
        }
        stepped.push(0); // unanchored: a match may start at every position
        // Bounds memory within one long text too: a flush drops every cached state, and the old state (about to be
        // left) does not link to the new generation, so nothing keeps the old one reachable.
        const flush = this.cache.size > MAX_CACHED_STATES;
        if (flush) {
          this.cache = new Map();
          this.initial = undefined;
        }
        next = this.state(this.closure(stepped, false));
        if (!flush) state.next.set(code, next);
      }
      state = next;
      if (state.matched) return true;
    }
    return this.closure(state.pcs, text.length === 0, true).includes(this.matchPc());
  }

  private matchPc(): number {
    return this.program.length - 1;
  }

  private state(pcs: number[]): DfaState {
    const key = pcs.join(',');
    let state = this.cache.get(key);
    if (!state) {
      state = { pcs, matched: pcs.includes(this.matchPc()), next: new Map() };
      this.cache.set(key, state);
    }
    return state;
  }

  /** The instructions reachable from `pcs` without reading a character, as a sorted set; `end` passes only at the end of the text. */
  private closure(pcs: number[], atStart: boolean, atEnd = false): number[] {
    const seen = new Set<number>();
    const out: number[] = [];
    const stack = [...pcs].reverse();
    while (stack.length > 0) {
      const pc = stack.pop()!;
      if (seen.has(pc)) continue;
      seen.add(pc);
      const instruction = this.program[pc]!;
      switch (instruction.op) {
        case 'jump':
          stack.push(instruction.next);
          break;
        case 'split':
          stack.push(instruction.alt, instruction.next);
          break;
        case 'begin':
          if (atStart) stack.push(instruction.next);
          break;
        case 'end':
          if (atEnd) stack.push(instruction.next);
          else out.push(pc);
          break;
        default:
          out.push(pc);
      }
    }
    return out.sort((a, b) => a - b);
  }
}
