import { describe, expect, it } from 'vitest';
import {
  MAX_LINE_BYTES,
  ProtocolParser,
  parseAll,
  parseFields,
  parseLine,
  type ConsoleLine,
} from '../../../src/protocol/parser.js';
import { Transcript } from '../../../src/protocol/transcript.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Deterministic PRNG so a failing fuzz case can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function feedInChunks(bytes: Uint8Array, cuts: number[]): ConsoleLine[] {
  const p = new ProtocolParser();
  const out: ConsoleLine[] = [];
  let prev = 0;
  for (const c of [...cuts, bytes.length]) {
    out.push(...p.push(bytes.subarray(prev, c)));
    prev = c;
  }
  out.push(...p.end());
  return out;
}

describe('parseLine', () => {
  it('parses a protocol line into type and fields', () => {
    const l = parseLine('KVMB1 sample test=cpuid i=3 iters=1024 ticks=99 base=7');
    expect(l).toMatchObject({
      kind: 'event',
      version: 1,
      type: 'sample',
      fields: { test: 'cpuid', i: '3', iters: '1024', ticks: '99', base: '7' },
    });
  });

  it('reads quoted values with escapes', () => {
    const l = parseLine('KVMB1 SKIP test=ipi reason="x2APIC \\"off\\" here" x=1');
    expect(l.kind).toBe('event');
    if (l.kind === 'event') expect(l.fields).toEqual({ test: 'ipi', reason: 'x2APIC "off" here', x: '1' });
  });

  it('keeps plain console output as text', () => {
    expect(parseLine('SeaBIOS (version 1.16)')).toEqual({ kind: 'text', text: 'SeaBIOS (version 1.16)' });
    expect(parseLine('KVMB1')).toMatchObject({ kind: 'text' });
  });

  it('keeps other versions and garbled lines as text, with a note', () => {
    expect(parseLine('KVMB2 hello guest=x')).toMatchObject({ kind: 'text', note: expect.stringMatching(/version 2/) });
    expect(parseLine('KVMB1 sample test=cpuid i=')).toMatchObject({ kind: 'event' }); // empty value is allowed
    expect(parseLine('KVMB1 sample test cpuid')).toMatchObject({ kind: 'text', note: expect.stringMatching(/garbled/) });
    expect(parseLine('KVMB1 sample reason="unterminated')).toMatchObject({
      kind: 'text',
      note: expect.stringMatching(/garbled/),
    });
    expect(parseLine('KVMB1 sample Key=1')).toMatchObject({ kind: 'text' });
    expect(parseLine('KVMB1 1bad x=1')).toMatchObject({ kind: 'text' });
  });

  it('first occurrence of a key wins', () => {
    expect(parseFields('a=1 a=2')).toEqual({ a: '1' });
  });

  it('does not let field names reach the prototype', () => {
    const f = parseFields('constructor=1 __proto__=2');
    expect(f === undefined || Object.getPrototypeOf(f) === null).toBe(true);
  });
});

describe('ProtocolParser', () => {
  it('splits lines across arbitrary chunk boundaries identically', () => {
    const text = 'SeaBIOS\r\nKVMB1 hello guest=exits proto=1\nKVMB1 sample test=cpuid i=0 iters=8 ticks=80 base=8\npartial';
    const bytes = enc(text);
    const whole = parseAll(bytes);
    expect(whole.map((l) => l.text)).toEqual([
      'SeaBIOS',
      'KVMB1 hello guest=exits proto=1',
      'KVMB1 sample test=cpuid i=0 iters=8 ticks=80 base=8',
      'partial',
    ]);
    for (let cut = 0; cut <= bytes.length; cut++) expect(feedInChunks(bytes, [cut])).toEqual(whole);
    // byte at a time
    expect(
      feedInChunks(
        bytes,
        Array.from({ length: bytes.length }, (_, i) => i),
      ),
    ).toEqual(whole);
  });

  it('caps huge lines, marks them truncated, and resynchronises at the next newline', () => {
    const huge = 'KVMB1 sample ' + 'x'.repeat(10 * MAX_LINE_BYTES);
    const lines = parseAll(enc(`${huge}\nKVMB1 end status=pass\n`));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ kind: 'text', truncated: true });
    expect(lines[0]!.text.length).toBeLessThanOrEqual(MAX_LINE_BYTES);
    expect(lines[1]).toMatchObject({ kind: 'event', type: 'end' });
  });

  it('a line of exactly the limit is kept whole', () => {
    const line = 'a'.repeat(MAX_LINE_BYTES);
    expect(parseAll(enc(`${line}\n`))).toEqual([{ kind: 'text', text: line }]);
  });

  it('makes NUL bytes, control characters and invalid UTF-8 visible instead of passing them on', () => {
    const bytes = new Uint8Array([0x4b, 0x00, 0x1b, 0x5b, 0xff, 0xfe, 0xc3, 0x0a, 0xe2, 0x82, 0xac, 0x0a]);
    const lines = parseAll(bytes);
    expect(lines).toHaveLength(2);
    // eslint-disable-next-line no-control-regex
    expect(lines[0]!.text).not.toMatch(/[\u0000-\u0008\u000b-\u001f]/);
    expect(lines[0]!.text).toContain('\uFFFD');
    expect(lines[1]!.text).toBe('€');
  });

  it('a protocol line with a NUL inside is not an event', () => {
    const lines = parseAll(enc('KVMB1 end status=pa\u0000ss\n'));
    expect(lines[0]!.kind).toBe('event'); // NUL becomes U+FFFD inside a bare value
    if (lines[0]!.kind === 'event') expect(lines[0]!.fields.status).toBe('pa\uFFFDss');
  });

  it('survives random and hostile input without throwing, and is chunking-invariant', () => {
    const rand = rng(42);
    const alphabet = enc('KVMB1 =" \\\nabc\r\u0000');
    for (let round = 0; round < 300; round++) {
      const len = Math.floor(rand() * 3000);
      const bytes = new Uint8Array(len);
      for (let i = 0; i < len; i++)
        bytes[i] = rand() < 0.5 ? alphabet[Math.floor(rand() * alphabet.length)]! : Math.floor(rand() * 256);
      const whole = parseAll(bytes);
      const cuts = Array.from({ length: Math.floor(rand() * 8) }, () => Math.floor(rand() * (len + 1))).sort((a, b) => a - b);
      expect(feedInChunks(bytes, cuts)).toEqual(whole);
      const t = new Transcript();
      for (const l of whole) {
        t.add(l);
        expect(l.text.length).toBeLessThanOrEqual(MAX_LINE_BYTES);
      }
      expect(typeof t.whereStopped(len)).toBe('string');
    }
  });

  it('handles a long stream without newlines in bounded memory and time', () => {
    const p = new ProtocolParser();
    const chunk = new Uint8Array(1 << 20).fill(0x41);
    const t0 = performance.now();
    let lines = 0;
    for (let i = 0; i < 64; i++) lines += p.push(chunk).length;
    lines += p.end().length;
    expect(lines).toBe(1); // one truncated line, the rest dropped
    expect(performance.now() - t0).toBeLessThan(5000);
  });
});

describe('Transcript', () => {
  const feed = (s: string): Transcript => {
    const t = new Transcript();
    for (const l of parseAll(enc(s))) t.add(l);
    return t;
  };

  it('collects samples and the verdict', () => {
    const t = feed(
      [
        'KVMB1 hello guest=exits proto=1 mode=long64 tsc=5',
        'KVMB1 tsc hz=2000000000 source=pit-calibration',
        'KVMB1 test name=cpuid iters=4 samples=2',
        'KVMB1 sample test=cpuid i=0 iters=4 ticks=400 base=8',
        'KVMB1 sample test=cpuid i=1 iters=4 ticks=404 base=8',
        'KVMB1 sample test=cpuid i=x iters=4 ticks=1 base=1',
        'KVMB1 PASS test=cpuid',
        'KVMB1 end status=pass',
        '',
      ].join('\n'),
    );
    expect(t.tsc).toEqual({ hz: 2e9, source: 'pit-calibration' });
    expect(t.samples).toHaveLength(2);
    expect(t.notes.some((n) => n.includes('bad fields'))).toBe(true);
    expect(t.verdict?.status).toBe('pass');
    expect(t.end?.status).toBe('pass');
  });

  it('says where a guest stopped', () => {
    expect(feed('').whereStopped(0)).toMatch(/no output/);
    expect(feed('SeaBIOS\n').whereStopped(8)).toMatch(/no protocol hello/);
    expect(feed('KVMB1 hello guest=exits\n').whereStopped(30)).toMatch(/after the guest's hello/);
    expect(
      feed(
        'KVMB1 hello guest=exits\nKVMB1 test name=vmcall samples=10\nKVMB1 sample test=vmcall i=0 iters=1 ticks=1 base=0\n',
      ).whereStopped(99),
    ).toMatch(/stopped in test vmcall after 1 of 10 samples/);
  });

  it('the first verdict stands', () => {
    const t = feed('KVMB1 FAIL test=a reason="boom"\nKVMB1 PASS test=a\n');
    expect(t.verdict).toMatchObject({ status: 'fail', reason: 'boom' });
  });
});
