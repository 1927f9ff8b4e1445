/**
 * The guest → host line protocol (docs/protocol.md), parsed incrementally as
 * console bytes arrive. Any byte sequence is acceptable input: lines are capped
 * at MAX_LINE_BYTES, decoded as UTF-8 with replacement, control characters are
 * made visible, and anything that is not a well-formed protocol line of a
 * version we speak is kept as plain log text. Nothing here throws on input.
 */

export const PROTOCOL_VERSION = 1;
/** Longest line kept; the rest of a longer line is dropped and the line marked truncated. */
export const MAX_LINE_BYTES = 4096;

export interface TextLine {
  kind: 'text';
  text: string;
  truncated?: boolean;
  /** Why a line that looked like a protocol line was kept as text. */
  note?: string;
}

export interface EventLine {
  kind: 'event';
  text: string;
  version: number;
  /** Line type: `hello`, `cpu`, `tsc`, `test`, `sample`, `PASS`, `FAIL`, `SKIP`, `end`, or one we do not know. */
  type: string;
  fields: Record<string, string>;
}

export type ConsoleLine = TextLine | EventLine;

const TYPE_RE = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/;
const KEY_RE = /^[a-z][a-z0-9_.]{0,63}$/;
// Control characters other than tab would corrupt terminals and reports.
// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u0008\u000a-\u001f\u007f]/g;

const decoder = new TextDecoder('utf-8', { fatal: false });

export function decodeLine(bytes: Uint8Array): string {
  let end = bytes.length;
  if (end > 0 && bytes[end - 1] === 0x0d) end--;
  return decoder.decode(bytes.subarray(0, end)).replace(CONTROL_RE, '\uFFFD');
}

/** Splits `key=value key="quoted \"value\""`; returns undefined if any token is malformed. */
export function parseFields(s: string): Record<string, string> | undefined {
  const fields: Record<string, string> = Object.create(null) as Record<string, string>;
  let i = 0;
  const n = s.length;
  while (i < n) {
    while (i < n && s[i] === ' ') i++;
    if (i >= n) break;
    const eq = s.indexOf('=', i);
    if (eq < 0) return undefined;
    const key = s.slice(i, eq);
    if (!KEY_RE.test(key)) return undefined;
    i = eq + 1;
    let value = '';
    if (s[i] === '"') {
      i++;
      let closed = false;
      while (i < n) {
        const c = s[i]!;
        if (c === '\\' && i + 1 < n) {
          value += s[i + 1];
          i += 2;
        } else if (c === '"') {
          i++;
          closed = true;
          break;
        } else {
          value += c;
          i++;
        }
      }
      if (!closed || (i < n && s[i] !== ' ')) return undefined;
    } else {
      const start = i;
      while (i < n && s[i] !== ' ') {
        if (s[i] === '"') return undefined;
        i++;
      }
      value = s.slice(start, i);
    }
    // First occurrence wins, so a later duplicate cannot override what was read.
    if (!(key in fields)) fields[key] = value;
  }
  return fields;
}

/** Classifies one decoded line. */
export function parseLine(text: string, truncated = false): ConsoleLine {
  const m = /^KVMB(\d{1,3}) /.exec(text);
  if (!m) return truncated ? { kind: 'text', text, truncated } : { kind: 'text', text };
  const version = Number(m[1]);
  if (truncated) return { kind: 'text', text, truncated, note: 'protocol line over the length limit' };
  if (version !== PROTOCOL_VERSION) {
    return { kind: 'text', text, note: `protocol version ${version} is not spoken here (only ${PROTOCOL_VERSION})` };
  }
  const rest = text.slice(m[0].length);
  const sp = rest.indexOf(' ');
  const type = sp < 0 ? rest : rest.slice(0, sp);
  if (!TYPE_RE.test(type)) return { kind: 'text', text, note: 'garbled protocol line: bad type' };
  const fields = parseFields(sp < 0 ? '' : rest.slice(sp + 1));
  if (!fields) return { kind: 'text', text, note: 'garbled protocol line: bad fields' };
  return { kind: 'event', text, version, type, fields };
}

/**
 * Incremental line splitter + parser. push() takes raw bytes in chunks of any
 * size and returns the lines they complete; end() flushes an unterminated tail.
 */
export class ProtocolParser {
  private buf: Uint8Array = new Uint8Array(MAX_LINE_BYTES);
  private len = 0;
  /** Inside an over-long line: bytes are dropped until the next newline. */
  private dropping = false;
  private bytesSeen = 0;

  get totalBytes(): number {
    return this.bytesSeen;
  }

  push(chunk: Uint8Array): ConsoleLine[] {
    const out: ConsoleLine[] = [];
    this.bytesSeen += chunk.length;
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(0x0a, start);
      const end = nl < 0 ? chunk.length : nl;
      if (!this.dropping) {
        const room = MAX_LINE_BYTES - this.len;
        const take = Math.min(room, end - start);
        this.buf.set(chunk.subarray(start, start + take), this.len);
        this.len += take;
        if (end - start > take) {
          out.push(parseLine(decodeLine(this.buf.subarray(0, this.len)), true));
          this.len = 0;
          this.dropping = true;
        }
      }
      if (nl < 0) break;
      if (this.dropping) this.dropping = false;
      else out.push(parseLine(decodeLine(this.buf.subarray(0, this.len))));
      this.len = 0;
      start = nl + 1;
    }
    return out;
  }

  end(): ConsoleLine[] {
    if (this.dropping || this.len === 0) {
      this.dropping = false;
      this.len = 0;
      return [];
    }
    const line = parseLine(decodeLine(this.buf.subarray(0, this.len)));
    this.len = 0;
    return [line];
  }
}

/** Parses a whole transcript at once (tests, log files). */
export function parseAll(bytes: Uint8Array): ConsoleLine[] {
  const p = new ProtocolParser();
  return [...p.push(bytes), ...p.end()];
}
