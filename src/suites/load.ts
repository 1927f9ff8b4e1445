/**
 * Loads a suite file (docs/suites.md): YAML → schema check → includes → merged CaseSpecs.
 * Every error names FILE:LINE:COL and the field, e.g.
 *   suites/x.yaml:12:5: cases[2].deadline: expected a positive number
 * and is a UsageError (exit 2). Input is treated as hostile: size-capped, checked for
 * invalid UTF-8 and control characters before the YAML parser sees it, aliases capped
 * (YAML bombs), and parser stack overflows on absurd nesting turned into errors.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, extname, isAbsolute, join, relative, resolve } from 'node:path';
import {
  Alias,
  isMap,
  isScalar,
  isSeq,
  Lexer,
  LineCounter,
  parseDocument,
  visit,
  type Document,
  type Node as YamlNode,
} from 'yaml';
import type { TObject } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import { UsageError } from '../errors.js';
import { guestTests } from '../guests/index.js';
import { packageRoot } from '../version.js';
import type { ArgValue, CaseSpec } from '../cases/types.js';
import {
  BUILTIN_DEFAULTS,
  SuiteFile,
  type CaseDefaults,
  type CaseOverrides,
  type SuiteCase,
  type SuiteInclude,
} from './schema.js';
import { globToRegExp } from '../glob.js';
import { parseDuration, parsePrecision, type SamplingRequest } from '../stats/precision.js';

/** Suite files are hand-written; anything bigger is a mistake or an attack. */
export const MAX_SUITE_BYTES = 1024 * 1024;
const MAX_ALIASES = 100;
/** Flow collections (`[`, `{`) nested deeper than this are refused before parsing (the parser recurses). */
const MAX_FLOW_DEPTH = 64;
const MAX_INCLUDE_DEPTH = 8;
const MAX_ERRORS = 10;

const checker = TypeCompiler.Compile(SuiteFile);

export interface LoadOptions {
  /** Apply `quick:` overrides (kvmbench run --quick). */
  quick?: boolean;
  /** Command-line overrides, applied last; `kernel` goes to every case whose guest is `linux`, `tap` to every `net` case, `pin` to every case. */
  cli?: { repeat?: number; machine?: string; kernel?: string; tap?: string; pin?: boolean };
  /** Executor kinds that exist; when given, a case of any other kind is an error. */
  kinds?: readonly string[];
  /**
   * The args schema of a kind (its executor's `args`, src/cases/args.ts); when it gives one, a case's
   * merged args are checked against it, and a misspelt or mistyped argument is an error at its line.
   */
  argsOf?: (kind: string) => TObject | undefined;
  /** Directory of the shipped suites (default `<package root>/suites`). */
  suitesDir?: string;
  /** Base for relative paths and for the file names in messages (default process.cwd()). */
  cwd?: string;
}

export interface LoadedSuite {
  name: string;
  /** Absolute path of the top-level suite file. */
  file: string;
  description?: string;
  /** Cases in run order, after includes, defaults, quick and CLI overrides. */
  cases: CaseSpec[];
  /** Where each case was declared (`suites/exits.yaml:14:5`), keyed by `${suite}/${id}`. */
  origins: Record<string, string>;
  /** What loading ignored and the run should say (recorded in run.warnings), e.g. an unknown cfg key of the kut suite. */
  warnings?: string[];
  /** The suite's default adaptive sampling (`sampling:`), when it has one; a command-line --precision wins. */
  sampling?: SuiteSamplingDefault;
}

/** A suite's `sampling:` as the runner takes it (fractions and ms). */
export interface SuiteSamplingDefault extends SamplingRequest {
  precision: number;
  maxRounds?: number;
}

/** A suite file that parsed and matched the schema, with a way back from fields to lines. */
export interface ParsedSuite {
  file: string;
  display: string;
  data: SuiteFile;
  /** `FILE:LINE:COL` of the node at `path` (or of its nearest existing parent). */
  at(path: readonly (string | number)[], key?: boolean): string;
  /** Whether the file has a node at `path`. */
  has(path: readonly (string | number)[]): boolean;
}

export function shippedSuitesDir(): string {
  return join(packageRoot(), 'suites');
}

/** Names of the shipped suites (`suites/*.yaml`), sorted. */
export function listShippedSuites(dir = shippedSuitesDir()): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.slice(0, -'.yaml'.length))
    .sort();
}

/**
 * A suite reference is a path when it contains a slash or ends in .yaml/.yml, or names an
 * existing file; otherwise it is the name of a shipped suite.
 */
export function resolveSuiteRef(
  ref: string,
  opts: Pick<LoadOptions, 'suitesDir' | 'cwd'> = {},
): { file: string; byName: boolean } {
  const cwd = opts.cwd ?? process.cwd();
  const dir = opts.suitesDir ?? shippedSuitesDir();
  if (ref.length === 0) throw new UsageError('empty suite name');
  const looksLikePath = ref.includes('/') || /\.ya?ml$/i.test(ref);
  const asPath = resolve(cwd, ref);
  if (looksLikePath || (existsSync(asPath) && statSync(asPath).isFile())) {
    if (!existsSync(asPath)) throw new UsageError(`suite file not found: ${ref}`);
    if (!statSync(asPath).isFile()) throw new UsageError(`not a file: ${ref}`);
    return { file: asPath, byName: false };
  }
  const file = join(dir, `${ref}.yaml`);
  if (!/^[a-z0-9][a-z0-9-]*$/.test(ref) || !existsSync(file)) {
    const known = listShippedSuites(dir);
    throw new UsageError(
      `unknown suite '${ref}'`,
      known.length ? `shipped suites: ${known.join(', ')}; or give the path of a suite file` : 'give the path of a suite file',
    );
  }
  return { file, byName: true };
}

/** Loads, validates and expands a suite given by name or path. Throws UsageError. */
export function loadSuite(ref: string, opts: LoadOptions = {}): LoadedSuite {
  const { file, byName } = resolveSuiteRef(ref, opts);
  const cwd = opts.cwd ?? process.cwd();
  const top = readSuiteFile(file, cwd);
  if (byName) checkNameMatchesFile(top);
  const origins: Record<string, string> = {};
  const cases = expand(top, opts, { quick: false, sets: [], stack: [file] }, origins);
  const sampling = suiteSampling(top);
  return { name: top.data.suite, file, description: top.data.description, cases, origins, ...(sampling ? { sampling } : {}) };
}

/** `sampling:` in fractions and ms; a value the schema let through but that means nothing (0 %, 100 %) is FILE:LINE:COL's error. */
export function suiteSampling(ps: ParsedSuite): SuiteSamplingDefault | undefined {
  const s = ps.data.sampling;
  if (!s) return undefined;
  const read = <T>(key: string, f: () => T): T => {
    try {
      return f();
    } catch (err) {
      throw new UsageError(
        `${ps.at(['sampling', key])}: sampling.${key}: ${(err as Error).message.replace(/^--precision /, '')}`,
      );
    }
  };
  return {
    precision: read('precision', () => parsePrecision(s.precision)),
    ...(s.max_samples !== undefined ? { maxSamples: s.max_samples } : {}),
    ...(s.max_time !== undefined ? { maxTimeMs: read('max_time', () => parseDuration(s.max_time!)) } : {}),
    ...(s.max_rounds !== undefined ? { maxRounds: s.max_rounds } : {}),
  };
}

/** Reads one file and runs parseSuiteText on it. */
export function readSuiteFile(file: string, cwd = process.cwd()): ParsedSuite {
  const display = displayPath(file, cwd);
  let buf: Buffer;
  try {
    const st = statSync(file);
    if (st.size > MAX_SUITE_BYTES) {
      throw new UsageError(`${display}: suite file is ${st.size} bytes; the limit is ${MAX_SUITE_BYTES}`);
    }
    buf = readFileSync(file);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`${display}: cannot read suite file: ${(err as Error).message}`);
  }
  return parseSuiteText(buf, file, display);
}

/**
 * Parses and schema-checks suite text. Pure apart from the thrown UsageError; the fuzz tests
 * drive it directly with random and hostile input.
 */
export function parseSuiteText(input: string | Uint8Array, file: string, display = file): ParsedSuite {
  let text: string;
  if (typeof input === 'string') {
    text = input;
  } else {
    if (input.length > MAX_SUITE_BYTES)
      throw new UsageError(`${display}: suite file is ${input.length} bytes; the limit is ${MAX_SUITE_BYTES}`);
    const bad = firstInvalidUtf8(input);
    if (bad >= 0) {
      const { line, col } = byteLineCol(input, bad);
      throw new UsageError(`${display}:${line}:${col}: invalid UTF-8 (byte 0x${input[bad]!.toString(16).padStart(2, '0')})`);
    }
    text = Buffer.from(input.buffer, input.byteOffset, input.length).toString('utf8');
  }
  if (text.length > MAX_SUITE_BYTES)
    throw new UsageError(`${display}: suite file is too large; the limit is ${MAX_SUITE_BYTES} bytes`);
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  const ctl = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.exec(text);
  if (ctl) {
    const { line, col } = charLineCol(text, ctl.index);
    const code = ctl[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
    throw new UsageError(`${display}:${line}:${col}: control character U+${code} is not allowed in a suite file`);
  }

  const deep = flowTooDeep(text);
  if (deep >= 0) {
    const { line, col } = charLineCol(text, deep);
    throw new UsageError(`${display}:${line}:${col}: collections nested more than ${MAX_FLOW_DEPTH} deep`);
  }

  const lc = new LineCounter();
  let doc: Document.Parsed;
  let raw: unknown;
  try {
    // yaml's own uniqueKeys check is quadratic (50k keys: 14 s); duplicateKeys() below is linear.
    doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: false, schema: 'core', strict: true });
    const errs = doc.errors.map((e) => ({ off: e.pos[0], msg: yamlMessage(e.message) }));
    if (errs.length === 0) errs.push(...duplicateKeys(doc));
    if (errs.length > 0) {
      const lines = errs.slice(0, MAX_ERRORS).map((e) => {
        const pos = lc.linePos(e.off);
        return `${display}:${pos.line}:${pos.col}: ${e.msg}`;
      });
      throw new UsageError(lines.join('\n'), 'the suite file is not valid YAML');
    }
    raw = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (err) {
    if (err instanceof UsageError) throw err;
    if (err instanceof RangeError) throw new UsageError(`${display}: suite file is nested too deeply`);
    // yaml throws ReferenceError for an alias bomb ("Excessive alias count...") and for unknown anchors.
    throw new UsageError(`${display}: ${yamlMessage((err as Error).message)}`);
  }

  const at = (path: readonly (string | number)[], key = false): string => {
    const off = locate(doc, path, key);
    const pos = lc.linePos(off);
    return `${display}:${pos.line}:${pos.col}`;
  };

  if (raw === null || raw === undefined) throw new UsageError(`${display}:1:1: the suite file is empty`);
  if (!checker.Check(raw)) {
    const seen = new Set<string>();
    const found: { off: number; msg: string }[] = [];
    for (const e of checker.Errors(raw)) {
      if (seen.has(e.path)) continue;
      seen.add(e.path);
      const path = pointerToPath(e.path);
      const isKey = e.type === ValueErrorType.ObjectAdditionalProperties;
      const isMissing = e.type === ValueErrorType.ObjectRequiredProperty;
      const nodePath = isMissing ? path.slice(0, -1) : path;
      const off = locate(doc, nodePath, isKey);
      const pos = lc.linePos(off);
      found.push({ off, msg: `${display}:${pos.line}:${pos.col}: ${fieldName(path)}: ${describe(e)}` });
      if (found.length >= 50) break;
    }
    found.sort((a, b) => a.off - b.off);
    const shown = found.slice(0, MAX_ERRORS).map((f) => f.msg);
    if (found.length > MAX_ERRORS) shown.push(`(${found.length - MAX_ERRORS} more errors)`);
    throw new UsageError(shown.join('\n'), 'see docs/suites.md for the suite file format');
  }
  const data = raw as SuiteFile;
  if (!data.cases?.length && !data.include?.length && data.guest_tests === undefined) {
    throw new UsageError(`${at([])}: suite: a suite needs \`cases:\`, \`guest_tests:\` or \`include:\``);
  }
  const ids = new Map<string, number>();
  (data.cases ?? []).forEach((c, i) => {
    const prev = ids.get(c.id);
    if (prev !== undefined) {
      const first = at(['cases', prev, 'id']).split(':').slice(-2)[0];
      throw new UsageError(`${at(['cases', i, 'id'])}: cases[${i}].id: duplicate case id '${c.id}' (first at line ${first})`);
    }
    ids.set(c.id, i);
  });
  const has = (path: readonly (string | number)[]): boolean => doc.hasIn(path);
  return { file, display, data, at, has };
}

interface ExpandState {
  /** Apply quick overrides regardless of --quick (an include with `quick: true`). */
  quick: boolean;
  /** `include[].set` overrides from the including suites, innermost last. */
  sets: CaseOverrides[];
  /** Files being expanded, to detect include cycles. */
  stack: string[];
}

function expand(ps: ParsedSuite, opts: LoadOptions, st: ExpandState, origins: Record<string, string>): CaseSpec[] {
  const out: CaseSpec[] = [];
  const where = new Map<string, string>();
  const add = (spec: CaseSpec, origin: string, from: string) => {
    const full = `${spec.suite}/${spec.id}`;
    const prev = where.get(full);
    if (prev !== undefined) throw new UsageError(`${from}: case ${full} is already in this suite (from ${prev})`);
    where.set(full, from);
    origins[full] = origin;
    out.push(spec);
  };

  (ps.data.include ?? []).forEach((inc, i) => {
    const sub = includeSuite(ps, inc, i, opts, st);
    const quick = st.quick || inc.quick === true;
    const subOrigins: Record<string, string> = {};
    const all = expand(
      sub,
      opts,
      { quick, sets: inc.set ? [inc.set, ...st.sets] : st.sets, stack: [...st.stack, sub.file] },
      subOrigins,
    );
    const pick = filterInclude(all, inc, i, (k) => ps.at(['include', i, ...k]), sub.data.suite);
    for (const spec of pick) add(spec, subOrigins[`${spec.suite}/${spec.id}`]!, ps.at(['include', i]));
  });

  const own = ps.data.cases ?? [];
  const overridden = new Set<number>();
  if (ps.data.guest_tests !== undefined) {
    const guest = ps.data.guest_tests;
    const rows = guestTests(guest);
    if (!rows)
      throw new UsageError(
        `${ps.at(['guest_tests'])}: guest_tests: the ${guest} guest has no list of tests (guests/${guest}/tests.def)`,
      );
    if (ps.data.defaults?.kind === undefined)
      throw new UsageError(`${ps.at(['guest_tests'])}: guest_tests: its cases need \`defaults.kind\``);
    for (const row of rows) {
      const i = own.findIndex((c) => c.id === row.name);
      const c = i >= 0 ? own[i]! : undefined;
      if (c) overridden.add(i);
      const generated: SuiteCase = {
        title: row.what,
        guest,
        tags: [...(ps.data.defaults?.tags ?? []), ...row.tags],
        ...c,
        id: row.name,
        args: { test: row.name, ...c?.args },
      };
      const where = c ? ps.at(['cases', i]) : ps.at(['guest_tests']);
      add(checkGuestTest(ps, mergeCase(ps, generated, i, opts, st), where), where, where);
    }
  }

  own.forEach((c, i) => {
    if (overridden.has(i)) return;
    add(checkGuestTest(ps, mergeCase(ps, c, i, opts, st), ps.at(['cases', i])), ps.at(['cases', i]), ps.at(['cases', i]));
  });
  return out;
}

/**
 * A case of a guest with a list of tests (guests/<guest>/tests.def) must name one of them, by
 * `args.test` or else by its id (as the exits executor reads it): a typo fails here, at load,
 * instead of as an "unknown test" boot.
 */
function checkGuestTest(ps: ParsedSuite, spec: CaseSpec, where: string): CaseSpec {
  const rows = spec.guest === undefined ? undefined : guestTests(spec.guest);
  if (!rows) return spec;
  const test = typeof spec.args.test === 'string' ? spec.args.test : spec.id;
  if (!rows.some((r) => r.name === test)) {
    throw new UsageError(
      `${where}: case ${spec.suite}/${spec.id}: the ${spec.guest} guest has no test '${test}'`,
      `its tests (guests/${spec.guest}/tests.def): ${rows.map((r) => r.name).join(', ')}`,
    );
  }
  return spec;
}

function includeSuite(ps: ParsedSuite, inc: SuiteInclude, i: number, opts: LoadOptions, st: ExpandState): ParsedSuite {
  const here = ps.at(['include', i, 'suite']);
  const beside = join(dirname(ps.file), `${inc.suite}.yaml`);
  const shipped = join(opts.suitesDir ?? shippedSuitesDir(), `${inc.suite}.yaml`);
  const file = existsSync(beside) ? beside : existsSync(shipped) ? shipped : undefined;
  if (!file)
    throw new UsageError(
      `${here}: include[${i}].suite: unknown suite '${inc.suite}' (looked for ${inc.suite}.yaml beside this file and among the shipped suites)`,
    );
  if (st.stack.includes(file)) {
    const chain = [...st.stack, file].map((f) => basename(f, extname(f))).join(' → ');
    throw new UsageError(`${here}: include[${i}].suite: include cycle ${chain}`);
  }
  if (st.stack.length > MAX_INCLUDE_DEPTH)
    throw new UsageError(`${here}: include[${i}].suite: includes nested more than ${MAX_INCLUDE_DEPTH} deep`);
  const sub = readSuiteFile(file, opts.cwd ?? process.cwd());
  checkNameMatchesFile(sub);
  return sub;
}

function filterInclude(
  all: CaseSpec[],
  inc: SuiteInclude,
  i: number,
  at: (k: (string | number)[]) => string,
  suite: string,
): CaseSpec[] {
  const test = (field: 'only' | 'skip') =>
    (inc[field] ?? []).map((pat, j) => {
      const re = globToRegExp(pat);
      if (!all.some((c) => re.test(c.id))) {
        throw new UsageError(
          `${at([field, j])}: include[${i}].${field}[${j}]: '${pat}' matches no case of suite ${suite} (cases: ${all.map((c) => c.id).join(', ')})`,
        );
      }
      return re;
    });
  const only = test('only');
  const skip = test('skip');
  // `only` keeps the order of the included suite, so an include reads like a filter.
  return all.filter((c) => (only.length === 0 || only.some((re) => re.test(c.id))) && !skip.some((re) => re.test(c.id)));
}

function mergeCase(ps: ParsedSuite, c: SuiteCase, i: number, opts: LoadOptions, st: ExpandState): CaseSpec {
  const d: CaseDefaults = ps.data.defaults ?? {};
  const layers: CaseOverrides[] = [];
  if (opts.quick || st.quick) {
    if (ps.data.quick) layers.push(ps.data.quick);
    if (c.quick) layers.push(c.quick);
  }
  // st.sets is innermost first; the outermost include has the last word.
  for (const s of [...st.sets].reverse()) layers.push(s);

  const kind = c.kind ?? d.kind;
  if (kind === undefined)
    throw new UsageError(`${ps.at(['cases', i])}: cases[${i}].kind: required (set it in the case or in \`defaults:\`)`);
  if (opts.kinds && !opts.kinds.includes(kind)) {
    const path = c.kind !== undefined ? ['cases', i, 'kind'] : ['defaults', 'kind'];
    const field = c.kind !== undefined ? `cases[${i}].kind` : 'defaults.kind';
    throw new UsageError(
      `${ps.at(path)}: ${field}: unknown kind '${kind}' (known: ${opts.kinds.length ? [...opts.kinds].sort().join(', ') : 'none registered'})`,
    );
  }

  const pick = <K extends keyof CaseOverrides>(k: K): CaseOverrides[K] | undefined => {
    let v: CaseOverrides[K] | undefined = (c as CaseOverrides)[k] ?? (d as CaseOverrides)[k];
    for (const l of layers) if (l[k] !== undefined) v = l[k];
    return v;
  };
  // args merge by key (defaults < case < overrides); every other field is replaced whole.
  const args: Record<string, ArgValue> = { ...(d.args ?? {}), ...(c.args ?? {}) };
  for (const l of layers) Object.assign(args, l.args ?? {});

  const cli = opts.cli ?? {};
  const guestName = c.guest ?? d.guest;
  if (cli.kernel !== undefined && guestName === 'linux') args.kernel = cli.kernel;
  if (cli.tap !== undefined && kind === 'net') args.tap = cli.tap;
  const schema = opts.argsOf?.(kind);
  // --pin reaches every case whose executor pins vCPU threads (those that start a guest under QEMU).
  if (cli.pin && (!schema || 'pin' in schema.properties)) args.pin = true;
  const spec: CaseSpec = {
    id: c.id,
    suite: ps.data.suite,
    kind,
    machine: cli.machine ?? pick('machine') ?? BUILTIN_DEFAULTS.machine,
    accel: [...(pick('accel') ?? BUILTIN_DEFAULTS.accel)],
    vcpus: pick('vcpus') ?? BUILTIN_DEFAULTS.vcpus,
    memoryMiB: pick('memory') ?? BUILTIN_DEFAULTS.memory,
    args,
    repeat: cli.repeat ?? pick('repeat') ?? BUILTIN_DEFAULTS.repeat,
    deadlineSec: pick('deadline') ?? BUILTIN_DEFAULTS.deadline,
    tags: [...(pick('tags') ?? [])],
    requires: [...(pick('requires') ?? [])],
  };
  if (schema) checkArgs(ps, spec, schema, i, layers.length > 0);
  const startup = pick('startup');
  if (startup !== undefined) spec.startupSec = startup;
  if (opts.quick || st.quick) spec.quick = true;
  const title = pick('title');
  if (title !== undefined) spec.title = title;
  if (guestName !== undefined) spec.guest = guestName;
  return spec;
}

function checkNameMatchesFile(ps: ParsedSuite): void {
  const expected = basename(ps.file).replace(/\.ya?ml$/i, '');
  if (ps.data.suite !== expected) {
    throw new UsageError(`${ps.at(['suite'])}: suite: name '${ps.data.suite}' does not match the file name ${basename(ps.file)}`);
  }
}

/** Offset of the first flow collection opened deeper than MAX_FLOW_DEPTH, or -1. */
function flowTooDeep(text: string): number {
  let opens = 0;
  for (let i = 0; i < text.length && opens <= MAX_FLOW_DEPTH; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5b || c === 0x7b) opens++;
  }
  if (opens <= MAX_FLOW_DEPTH) return -1;
  // The lexer is iterative and knows quotes and comments. Its tokens are source text except
  // for single control characters it inserts (document/flow/scalar markers), which cannot be
  // in the text because control characters were refused above.
  let off = 0;
  let depth = 0;
  for (const tok of new Lexer().lex(text)) {
    if (tok.length === 1 && tok.charCodeAt(0) < 0x20 && tok !== '\n' && tok !== '\t' && tok !== '\r') continue;
    if (tok === '[' || tok === '{') {
      if (++depth > MAX_FLOW_DEPTH) return off;
    } else if (tok === ']' || tok === '}') {
      depth = Math.max(0, depth - 1);
    }
    off += tok.length;
  }
  return -1;
}

/** Duplicate mapping keys (YAML forbids them; a second `deadline:` must not silently win). */
function duplicateKeys(doc: Document.Parsed): { off: number; msg: string }[] {
  const out: { off: number; msg: string }[] = [];
  visit(doc, {
    Map(_, map) {
      const seen = new Set<string>();
      for (const p of map.items) {
        if (!isScalar(p.key)) continue;
        const k = String(p.key.value);
        if (seen.has(k)) out.push({ off: p.key.range?.[0] ?? 0, msg: `duplicate key '${k.slice(0, 60)}'` });
        seen.add(k);
      }
      return out.length >= MAX_ERRORS ? visit.BREAK : undefined;
    },
  });
  return out;
}

/** The node's start offset for a path of keys/indexes; falls back to the nearest parent. */
const argsCheckers = new WeakMap<TObject, TypeCheck<TObject>>();

/**
 * A case's merged args against its executor's schema. The error points at the argument where the
 * case or this suite's `quick:`/`defaults:` sets it (an include's `set:` lives in another file: then
 * at the case), and names what the kind takes.
 */
function checkArgs(ps: ParsedSuite, spec: CaseSpec, schema: TObject, i: number, overridden: boolean): void {
  let check = argsCheckers.get(schema);
  if (!check) {
    check = TypeCompiler.Compile(schema);
    argsCheckers.set(schema, check);
  }
  if (check.Check(spec.args)) return;
  const e = check.Errors(spec.args).First();
  if (!e) return;
  const key = e.path.split('/')[1] ?? '';
  const unknown = e.type === ValueErrorType.ObjectAdditionalProperties;
  const candidates: (string | number)[][] = [
    ...(i >= 0
      ? [
          ['cases', i, ...(overridden ? ['quick'] : []), 'args', key],
          ['cases', i, 'args', key],
        ]
      : []),
    ...(overridden ? [['quick', 'args', key]] : []),
    ['defaults', 'args', key],
  ];
  const path = candidates.find((p) => ps.has(p)) ?? (i >= 0 ? ['cases', i] : ['guest_tests']);
  const takes = Object.keys(schema.properties).sort();
  if (unknown) {
    const near = takes.find((p) => editDistance(p, key) <= 2);
    throw new UsageError(
      `${ps.at(path, true)}: args.${key}: kind ${spec.kind} takes no argument '${key}'${near ? ` (did you mean '${near}'?)` : ''}; it takes: ${takes.join(', ') || 'none'}`,
      'see docs/suites.md, "Arguments the shipped executors read"',
    );
  }
  throw new UsageError(
    `${ps.at(path)}: args.${key}: ${describe(e)} (case ${spec.suite}/${spec.id}, kind ${spec.kind})`,
    'see docs/suites.md, "Arguments the shipped executors read"',
  );
}

function locate(doc: Document.Parsed, path: readonly (string | number)[], key: boolean): number {
  let node: unknown = doc.contents;
  let off = (doc.contents as YamlNode | null)?.range?.[0] ?? 0;
  for (let i = 0; i < path.length; i++) {
    if (node instanceof Alias) node = node.resolve(doc);
    const seg = path[i]!;
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(seg));
      if (!pair) break;
      if (last && key && isScalar(pair.key) && pair.key.range) return pair.key.range[0];
      node = pair.value;
      if (!node && isScalar(pair.key) && pair.key.range) return pair.key.range[0];
    } else if (isSeq(node) && typeof seg === 'number') {
      node = node.items[seg];
    } else {
      break;
    }
    const r = (node as YamlNode | null)?.range;
    if (r) off = r[0];
    else break;
  }
  return off;
}

function pointerToPath(pointer: string): (string | number)[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^(0|[1-9]\d*)$/.test(s) ? Number(s) : s));
}

/** `cases[2].deadline`, the way a person would name the field. */
export function fieldName(path: readonly (string | number)[]): string {
  if (path.length === 0) return 'suite file';
  let s = '';
  for (const p of path) {
    if (typeof p === 'number') s += `[${p}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(p)) s += (s ? '.' : '') + p;
    else s += `[${JSON.stringify(p.slice(0, 40))}]`;
  }
  return s;
}

function describe(e: ValueError): string {
  if (e.type === ValueErrorType.ObjectAdditionalProperties) {
    const props = Object.keys((e.schema as { properties?: Record<string, unknown> }).properties ?? {});
    const name = e.path.split('/').pop() ?? '';
    const near = props.find((p) => editDistance(p, name) <= 2);
    return `unknown field${near ? ` (did you mean '${near}'?)` : ''}; allowed: ${props.join(', ')}`;
  }
  if (e.type === ValueErrorType.ObjectRequiredProperty) return 'required field is missing';
  const custom = (e.schema as { errorMessage?: unknown }).errorMessage;
  if (typeof custom === 'string') return custom;
  return e.message.charAt(0).toLowerCase() + e.message.slice(1);
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2 || b.length > 64) return 99;
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}

function yamlMessage(msg: string): string {
  // yaml appends " at line L, column C:" and a source excerpt; the prefix already has both.
  return msg
    .split('\n')[0]!
    .replace(/ at line \d+, column \d+:?$/, '')
    .slice(0, 300);
}

function displayPath(file: string, cwd: string): string {
  const rel = relative(cwd, file);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}

/** Byte offset of the first invalid UTF-8 sequence, or -1. */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    let n: number;
    let min: number;
    if (c >= 0xc2 && c <= 0xdf) [n, min] = [1, 0x80];
    else if (c >= 0xe0 && c <= 0xef) [n, min] = [2, 0x800];
    else if (c >= 0xf0 && c <= 0xf4) [n, min] = [3, 0x10000];
    else return i;
    let cp = c & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const cc = b[i + k];
      if (cc === undefined || (cc & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += n + 1;
  }
  return -1;
}

function byteLineCol(b: Uint8Array, off: number): { line: number; col: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < off; i++) {
    if (b[i] === 0x0a) {
      line++;
      start = i + 1;
    }
  }
  return { line, col: off - start + 1 };
}

function charLineCol(s: string, off: number): { line: number; col: number } {
  let line = 1;
  let start = 0;
  for (let i = s.indexOf('\n'); i !== -1 && i < off; i = s.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, col: off - start + 1 };
}
