import { accessSync, constants, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Flags } from '@oclif/core';
import { BaseCommand } from '../src/cli/base-command.js';
import { makeColor } from '../src/report/color.js';
import { EnvironmentError, ExitCode, exitCodeOf, InterruptedError, UsageError } from '../src/errors.js';
import { JUDGE_FLAGS, judgeOptions } from '../src/cli/judge-flags.js';
import {
  SUITE_ARGS,
  SUITE_FLAGS,
  loadSelectedSuite,
  roundsFlag,
  runnerOptions,
  runSummaryText,
  trapInterrupts,
} from '../src/cli/suite-run.js';
import { COMPARE_FORMATS, renderComparison, type CompareFormat } from '../src/report/compare/index.js';
import { DEFAULT_AB_ROUNDS, DEFAULT_AB_SEED, splitQemuArgs } from '../src/suites/ab.js';
import { runAb, type AbOutcome } from '../src/app/ab.js';
import { makeReporter } from '../src/cli/progress.js';
import type { RunVariant } from '../src/cases/types.js';
import { qemuBinary } from '../src/vmm/qemu.js';

/** A variant's QEMU binary: absolute, an executable file, or exit 3 naming the flag. */
function qemuPath(flag: string, p: string): string {
  const abs = resolve(p);
  try {
    if (!statSync(abs).isFile()) throw new Error('not a file');
    accessSync(abs, constants.X_OK);
  } catch (err) {
    throw new EnvironmentError(
      `${flag} ${abs}: not an executable file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      'give the path of a qemu-system-x86_64 binary, e.g. build/qemu-system-x86_64 of a QEMU tree',
    );
  }
  return abs;
}

export default class Ab extends BaseCommand {
  static override summary =
    'Interleaved A/B on one host: run a suite under two QEMU binaries, argument sets or kernels, alternating case by case, and compare B against A.';
  static override description =
    'Runs the cases of SUITE twice, as variant A and variant B (--a-qemu/--b-qemu, --a-args/--b-args, --a-kernel/--b-kernel), ' +
    "each case's A and B runs back to back and which goes first drawn from --seed (balanced: A leads in half the cases), so drift " +
    'over the session hits both. Every case runs --rounds times a variant (default 7), each round a fresh guest, A and B taking turns to lead, ' +
    'because the samples of one guest are not independent: the comparison tests round against round. With --precision, rounds of both variants are added to a case until every tested row of it is decided (at most --max-rounds, within --max-time), and ab says which rows stayed undecided. Then compares B against A as `kvmbench compare` does and prints the comparison. ' +
    'Writes OUTPUT/a and OUTPUT/b (normal results directories), OUTPUT/ab.json (seed, variants, order) and OUTPUT/compare.{json,txt,html}. ' +
    'Exit 0 when every case passed or was skipped, 1 when one failed or errored in either run, 2 for a bad suite or flag, 3 when the ' +
    'environment cannot run it, 4 with --fail-on-regression when B is confirmed slower on any metric, 130 when interrupted (both partial runs are kept). ' +
    'See docs/compare.md.';
  static override examples = [
    '<%= config.bin %> ab exits --quick --a-qemu /usr/bin/qemu-system-x86_64 --b-qemu ~/qemu/build/qemu-system-x86_64',
    '<%= config.bin %> ab exits --quick --accel tcg --b-args "-singlestep" --fail-on-regression',
    '<%= config.bin %> ab boot-linux --quick --a-kernel bzImage.base --b-kernel bzImage.patched -o ab-kernel/',
    '<%= config.bin %> ab exits --quick --only cpuid --b-args "-singlestep" --precision 5% --max-rounds 20   # rounds until decided',
  ];

  static override args = SUITE_ARGS;

  static override flags = {
    ...SUITE_FLAGS,
    rounds: roundsFlag(DEFAULT_AB_ROUNDS),
    output: Flags.string({
      char: 'o',
      description: 'session directory: A in OUTPUT/a, B in OUTPUT/b, the comparison beside them (default reports/ab-<id>)',
    }),
    'a-qemu': Flags.string({ description: "variant A's QEMU binary (default KVMBENCH_QEMU, else qemu-system-x86_64 on PATH)" }),
    'b-qemu': Flags.string({ description: "variant B's QEMU binary (default KVMBENCH_QEMU, else qemu-system-x86_64 on PATH)" }),
    'a-args': Flags.string({
      description:
        'extra QEMU arguments for variant A, split on whitespace (no shell), appended to every QEMU it starts, e.g. "-singlestep" (TCG; -one-insn-per-tb from QEMU 8.1). Not -icount: it turns the guest TSC into virtual time, so TSC figures stop being comparable',
    }),
    'b-args': Flags.string({ description: 'extra QEMU arguments for variant B, split on whitespace (no shell)' }),
    'a-kernel': Flags.string({
      description: "Linux kernel (bzImage) for variant A's Linux cases (boot-linux, io), as `run --kernel`",
    }),
    'b-kernel': Flags.string({
      description: "Linux kernel (bzImage) for variant B's Linux cases (boot-linux, io), as `run --kernel`",
    }),
    seed: Flags.integer({
      default: DEFAULT_AB_SEED,
      description: 'seed of the A/B order and of the comparison (bootstrap, Monte Carlo p-values); recorded in ab.json',
    }),
    format: Flags.string({
      char: 'f',
      options: [...COMPARE_FORMATS],
      default: 'text',
      description:
        'format of the comparison printed on stdout (text, md, json, junit, html); with any but text the rest goes to stderr',
    }),
    ...JUDGE_FLAGS,
  };

  async run(): Promise<void> {
    const trap = trapInterrupts();
    const { args, flags } = await this.parse(Ab);
    const format = flags.format as CompareFormat;
    const human = format === 'text' ? process.stdout : process.stderr;
    const color = makeColor(human);
    const judge = judgeOptions(flags);

    const variant = (
      label: 'A' | 'B',
      qemu: string | undefined,
      extra: string | undefined,
      kernel: string | undefined,
    ): RunVariant => {
      const f = label.toLowerCase();
      const words = splitQemuArgs(extra);
      return {
        label,
        qemu: qemu === undefined ? qemuBinary() : qemuPath(`--${f}-qemu`, qemu),
        ...(words.length ? { extraArgs: words } : {}),
        ...(kernel === undefined ? {} : { kernel: resolve(kernel) }),
      };
    };
    const va = variant('A', flags['a-qemu'], flags['a-args'], flags['a-kernel']);
    const vb = variant('B', flags['b-qemu'], flags['b-args'], flags['b-kernel']);
    const a = loadSelectedSuite(args.suite, flags, flags['a-kernel'], '--a-kernel');
    const b = loadSelectedSuite(args.suite, flags, flags['b-kernel'], '--b-kernel');
    if (a.cases.length === 0) throw new UsageError(`no case of suite ${a.suite.name} is left to run`, 'check --only and --skip');

    if (trap.signal.aborted) throw new InterruptedError(`interrupted by ${String(trap.signal.reason)} before the run started`);

    const reporter = makeReporter(process.stderr, makeColor(process.stderr));
    let outcome;
    try {
      outcome = await runAb({
        a: { ...a, variant: va },
        b: { ...b, variant: vb },
        ...runnerOptions(flags, a.suite),
        argv: ['ab', ...this.argv],
        output: flags.output,
        seed: flags.seed,
        compare: judge,
        failOnRegression: flags['fail-on-regression'],
        signal: trap.signal,
        reporter,
      });
    } finally {
      reporter.close();
      trap.release();
    }

    for (const [s, v] of [
      [outcome.a, va],
      [outcome.b, vb],
    ] as const) {
      human.write(`\n${color.bold(`${v.label}: ${describeVariant(v)}`)}\n`);
      human.write(runSummaryText(s, color));
    }
    human.write(
      `\norder (seed ${flags.seed}): ${outcome.order.map((o) => o.first).join('')} (the variant that ran each case first)\n\n`,
    );
    if (outcome.comparison)
      process.stdout.write(renderComparison(outcome.comparison, format, format === 'text' ? color : undefined));
    if (outcome.adaptive) human.write(`\n${adaptiveText(outcome.adaptive, outcome.undecided ?? [])}`);
    human.write(`\nab: ${outcome.files.join('\n    ')}\n`);
    if (outcome.incomparable) {
      throw new UsageError(
        `A and B cannot be compared: ${outcome.incomparable}`,
        `both runs are kept in ${outcome.dir}/a and ${outcome.dir}/b; \`kvmbench compare --force\` compares them anyway`,
      );
    }
    if (outcome.comparison && outcome.comparison.regressions > 0 && outcome.outcome === 'regression') {
      process.stderr.write(
        `kvmbench: ${outcome.comparison.regressions} confirmed regression${outcome.comparison.regressions > 1 ? 's' : ''} in B\n`,
      );
    }
    if (outcome.a.interrupted ?? outcome.b.interrupted)
      human.write(color.yellow(`interrupted: both partial runs kept in ${outcome.dir}\n`));
    // A bug stopped the session: its cases errored, which is exit 1, not an interrupt's 130.
    const code = trap.internalError ? ExitCode.FAILED : exitCodeOf(outcome.outcome);
    process.exitCode = code;
    this.exit(code);
  }
}

/** `ab --precision`: the rounds each case got and why, then the rows the final comparison left undecided. */
function adaptiveText(a: NonNullable<AbOutcome['adaptive']>, undecided: NonNullable<AbOutcome['undecided']>): string {
  const lines = [`rounds (--precision, at most ${a.maxRounds} a case):`];
  for (const c of a.cases) lines.push(`  ${c.case}: ${c.rounds} rounds, ${c.stopped.note}`);
  if (undecided.length === 0) lines.push('every tested row of the comparison is decided');
  else {
    lines.push(`left undecided in the comparison (${undecided.length}):`);
    for (const u of undecided) lines.push(`  ${u.key}: ${u.verdict}${u.notes.length ? ` (${u.notes.join('; ')})` : ''}`);
  }
  return lines.join('\n') + '\n';
}

function describeVariant(v: RunVariant): string {
  return [v.qemu ?? 'default QEMU', ...(v.extraArgs ?? []), ...(v.kernel ? [`(kernel ${v.kernel})`] : [])].join(' ');
}
