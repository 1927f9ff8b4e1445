/**
 * kvm-unit-tests' `unittests.cfg`: INI-like stanzas, one per test (`[name]` then `key = value`
 * lines; `qemu_params`/`extra_params` may span lines between `"""` quotes). Parsed without a
 * shell: values stay text here, src/kut/words.ts splits them and refuses what needs a shell.
 *
 * Strict about shape (a line that is not a comment, a header or `key = value`, a stanza without
 * `file`, an unterminated `"""`, a duplicate name: UsageError with the line), lenient about
 * keys: an unknown key is a warning and ignored, as kvm-unit-tests' own runner ignores it, so a
 * newer tree still runs.
 */
import { UsageError } from '../errors.js';

/** Larger than any real cfg (x86's is about 12 KiB) by far; a bigger file is not one. */
export const MAX_CFG_BYTES = 1024 * 1024;

/** Keys of a stanza this parser knows; `extra_params` is the older name of `qemu_params`. */
export const CFG_KEYS = [
  'file',
  'smp',
  'extra_params',
  'qemu_params',
  'test_args',
  'groups',
  'arch',
  'machine',
  'accel',
  'timeout',
  'check',
  'disabled_if',
] as const;
export type CfgKey = (typeof CFG_KEYS)[number];

/** Stanza names become case ids and log file names. */
const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,127}$/;

export interface Stanza {
  name: string;
  /** 1-based line of the `[name]` header. */
  line: number;
  /** Image path relative to the tree's `x86/` directory, as written (`apic.flat`). */
  file: string;
  /** The raw `smp` value (a number, or a shell expression kvm-unit-tests evaluates). */
  smp?: string;
  /** QEMU arguments as written (`qemu_params`, or the older `extra_params`). */
  qemuParams?: string;
  /** The guest's command line as written (`test_args`). */
  testArgs?: string;
  groups: string[];
  arch?: string;
  machine?: string;
  accel?: string;
  timeout?: string;
  /** `path=value` conditions, space separated. */
  check?: string;
  disabledIf?: string;
}

export interface ParsedCfg {
  /** How the file is named in messages. */
  display: string;
  stanzas: Stanza[];
  /** Unknown keys and other things that were ignored, each with its line. */
  warnings: string[];
}

const KEY_LINE = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/;

export function parseCfg(text: string, display: string): ParsedCfg {
  if (Buffer.byteLength(text, 'utf8') > MAX_CFG_BYTES)
    throw new UsageError(`${display}: larger than ${MAX_CFG_BYTES} bytes: not a unittests.cfg`);
  const lines = text.split('\n');
  const stanzas: Stanza[] = [];
  const warnings: string[] = [];
  const names = new Map<string, number>();
  let cur: (Partial<Stanza> & { name: string; line: number; groups: string[]; seen: Set<string> }) | undefined;
  const at = (n: number): string => `${display}:${n}`;

  const close = (): void => {
    if (!cur) return;
    if (!cur.file)
      throw new UsageError(
        `${at(cur.line)}: stanza [${cur.name}] has no 'file =' line (a truncated file?)`,
        'every stanza names its test image, e.g. file = apic.flat',
      );
    const { seen: _seen, ...s } = cur;
    stanzas.push(s as Stanza);
    cur = undefined;
  };

  for (let i = 0; i < lines.length; i++) {
    const n = i + 1;
    const raw = lines[i]!.replace(/\r$/, '');
    // eslint-disable-next-line no-control-regex
    const ctl = /[\u0000-\u0008\u000b-\u001f\u007f]/.exec(raw);
    if (ctl)
      throw new UsageError(
        `${at(n)}:${ctl.index + 1}: control character 0x${raw.charCodeAt(ctl.index).toString(16).padStart(2, '0')}`,
      );
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const header = /^\[(.*)\]$/.exec(line);
    if (header) {
      close();
      const name = header[1]!;
      if (!NAME_RE.test(name))
        throw new UsageError(`${at(n)}: stanza name [${name}]: expected letters, digits, '_', '.', '+' or '-' (at most 128)`);
      const prev = names.get(name);
      if (prev !== undefined) throw new UsageError(`${at(n)}: stanza [${name}] defined twice (first at line ${prev})`);
      names.set(name, n);
      cur = { name, line: n, groups: [], seen: new Set() };
      continue;
    }
    const kv = KEY_LINE.exec(line);
    if (!kv) throw new UsageError(`${at(n)}: expected '[name]', 'key = value' or a '#' comment, got: ${line.slice(0, 80)}`);
    if (!cur) throw new UsageError(`${at(n)}: '${kv[1]}' before the first [stanza]`);
    const key = kv[1]!;
    let value = kv[2]!.trim();
    if (value.startsWith('"""')) {
      // A value over several lines, up to the closing """; a backslash-newline joins lines.
      const start = n;
      let acc = value.slice(3);
      let closed = acc.includes('"""');
      while (!closed) {
        i++;
        if (i >= lines.length)
          throw new UsageError(`${at(start)}: ${key} starts a """ value that never ends (a truncated file?)`);
        acc += '\n' + lines[i]!.replace(/\r$/, '');
        closed = acc.includes('"""');
      }
      const end = acc.indexOf('"""');
      if (acc.slice(end + 3).trim() !== '') throw new UsageError(`${at(i + 1)}: text after the closing """ of ${key}`);
      value = acc.slice(0, end).replace(/\\\n/g, ' ').replace(/\n/g, ' ').trim();
    }
    if (!(CFG_KEYS as readonly string[]).includes(key)) {
      warnings.push(
        `${at(n)}: unknown key '${key}' in [${cur.name}] ignored (kvm-unit-tests' runner ignores it too; known: ${CFG_KEYS.join(', ')})`,
      );
      continue;
    }
    if (cur.seen.has(key)) warnings.push(`${at(n)}: '${key}' given twice in [${cur.name}]: the last one counts`);
    cur.seen.add(key);
    switch (key as CfgKey) {
      case 'file':
        cur.file = value;
        break;
      case 'smp':
        cur.smp = value;
        break;
      case 'extra_params':
      case 'qemu_params':
        cur.qemuParams = value;
        break;
      case 'test_args':
        cur.testArgs = value;
        break;
      case 'groups':
        cur.groups = value.split(/\s+/).filter(Boolean);
        break;
      case 'arch':
        cur.arch = value;
        break;
      case 'machine':
        cur.machine = value;
        break;
      case 'accel':
        cur.accel = value;
        break;
      case 'timeout':
        cur.timeout = value;
        break;
      case 'check':
        cur.check = value;
        break;
      case 'disabled_if':
        cur.disabledIf = value;
        break;
    }
  }
  close();
  if (stanzas.length === 0)
    throw new UsageError(
      `${display}: no [stanza] in the file`,
      'a kvm-unit-tests tree has one stanza per test in x86/unittests.cfg',
    );
  return { display, stanzas, warnings };
}

/**
 * `timeout` as kvm-unit-tests writes it (coreutils timeout's DURATION: a number with an optional
 * s, m, h or d suffix); default 90 s, the runner's. Undefined for anything else.
 */
export function timeoutSeconds(v: string | undefined): number | undefined {
  if (v === undefined || v === '') return 90;
  const m = /^(\d+(?:\.\d+)?)([smhd]?)$/.exec(v.trim());
  if (!m) return undefined;
  const n = Number(m[1]) * { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as '' | 's' | 'm' | 'h' | 'd'];
  return n > 0 ? n : undefined;
}
