/**
 * kvmbench at layer 1 (`kvmbench nested-l1 PLAN`, hidden): what L1's /init runs in the nested
 * lab (docs/nested.md). One Node process: the doctor (its report to the channel, so the host
 * records L1's verdict and KVM flavour), then each step of the plan, a normal suite run under
 * `--accel kvm` against L2 guests, each into its own results directory in the channel. It speaks
 * `KVMB1 step-begin/step-end` lines on stdout (L1's console) so the host can follow, and writes its
 * exit code to the channel, since L1's /init cannot pass one through the VM's power-off.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ExitCode, exitCodeOf, KvmbenchError, type ExitCodeValue } from '../errors.js';
import { CHANNEL_FILES, parsePlan, type NestedStep } from '../nested/plan.js';
import { writeJsonAtomic } from '../results/writer.js';
import type { CaseSpec } from '../cases/types.js';
import { scaleStanzaTimeout } from '../suites/kut.js';
import { DEFAULT_ACK_MS } from '../cases/exits.js';
import { startupBudgetMs } from '../vmm/startup.js';
import type { LoadedSuite } from '../suites/load.js';
import type { RunReporter } from '../suites/runner.js';

function say(type: string, fields: Record<string, string | number>): void {
  const words = Object.entries(fields).map(([k, v]) => `${k}=${String(v).replace(/\s+/g, '_')}`);
  process.stdout.write(`KVMB1 ${type}${words.length ? ` ${words.join(' ')}` : ''}\n`);
}

const RANK: Record<number, number> = {
  [ExitCode.OK]: 0,
  [ExitCode.FAILED]: 1,
  [ExitCode.REGRESSION]: 1,
  [ExitCode.USAGE]: 2,
  [ExitCode.ENV_UNUSABLE]: 3,
  [ExitCode.INTERRUPTED]: 4,
};

/** What the command layer lends: the suite selection of `run` and the progress display. */
export interface NestedL1Io {
  select(
    name: string,
    flags: { quick: boolean; repeat?: number; machine?: string; only?: string[]; skip?: string[]; 'kut-dir'?: string },
  ): { suite: LoadedSuite; cases: CaseSpec[] };
  reporter(): RunReporter;
}

export async function runNestedL1(planPath: string, io: NestedL1Io): Promise<ExitCodeValue> {
  const dir = dirname(planPath);
  let code: ExitCodeValue = ExitCode.OK;
  const worst = (c: ExitCodeValue): void => {
    if ((RANK[c] ?? 1) > (RANK[code] ?? 1)) code = c;
  };
  try {
    const plan = parsePlan(readFileSync(planPath, 'utf8'), planPath);
    say('l1-node', { node: process.version });
    const [{ doctorSession }, { toJson }] = await Promise.all([import('./doctor.js'), import('../report/doctor/json.js')]);
    const { report, host } = await doctorSession({ profile: 'kvm', boot: false });
    await writeJsonAtomic(join(dir, CHANNEL_FILES.doctor), toJson(report, host));
    say('l1-doctor', {
      verdict: report.verdict,
      usable: String(report.kvm.usable),
      flavor: report.kvm.flavor.name,
      module: report.kvm.flavor.module ?? 'none',
    });
    for (const step of plan.steps) worst(await runStep(step, plan.argv, join(dir, CHANNEL_FILES.steps, step.id), io));
  } catch (err) {
    process.stderr.write(`kvmbench at layer 1: ${err instanceof Error ? err.message : String(err)}\n`);
    worst(err instanceof KvmbenchError ? err.exitCode : ExitCode.FAILED);
  }
  writeFileSync(join(dir, CHANNEL_FILES.exit), `${code}\n`);
  return code;
}

async function runStep(step: NestedStep, argv: string[], output: string, io: NestedL1Io): Promise<ExitCodeValue> {
  say('step-begin', { id: step.id, suite: step.suite });
  let code: ExitCodeValue;
  try {
    const { executeRun } = await import('./run.js');
    const { suite, cases: selected } = io.select(step.suite, {
      quick: step.quick,
      repeat: step.repeat,
      machine: step.machine,
      only: step.only,
      skip: step.skip,
      ...(step.kutDir ? { 'kut-dir': step.kutDir } : {}),
    });
    // Deadlines, startup budgets, IPI acknowledgement bounds and stanza timeouts alike: an L2 guest under an outer TCG starts and runs slower.
    const cases = selected.map((c) => layer2Case(c, step.deadlineScale ?? 1));
    const reporter = io.reporter();
    try {
      const summary = await executeRun({
        suite,
        cases,
        accel: 'kvm',
        quick: step.quick,
        rounds: step.rounds ?? 1,
        ...(step.sampling ? { sampling: step.sampling } : {}),
        ...(step.maxRounds !== undefined ? { maxRounds: step.maxRounds } : {}),
        argv,
        output,
        reporter,
      });
      code = exitCodeOf(summary.outcome);
    } finally {
      reporter.close();
    }
  } catch (err) {
    process.stderr.write(`step ${step.id}: ${err instanceof Error ? err.message : String(err)}\n`);
    code = err instanceof KvmbenchError ? err.exitCode : ExitCode.FAILED;
  }
  say('step-end', { id: step.id, exit: code });
  return code;
}

/**
 * A case as it runs at layer 2 (docs/nested.md, "How long a nested run takes"): its deadline, the
 * startup budget of its launches and the exits guest's IPI acknowledgement bound multiplied by the
 * plan's scale. Under an outer TCG every L2 step is slower, and L1's vCPU threads share this host's
 * CPUs with everything else on it, so an L2 vCPU can wait seconds to be scheduled.
 */
export function layer2Case(c: CaseSpec, scale: number): CaseSpec {
  if (scale === 1) return c;
  const ack = c.kind === 'exits' && c.args.ack_ms === undefined ? { args: { ...c.args, ack_ms: DEFAULT_ACK_MS * scale } } : {};
  return scaleStanzaTimeout(
    {
      ...c,
      deadlineSec: Math.ceil(c.deadlineSec * scale),
      startupSec: (startupBudgetMs('kvm', c.guest, c.startupSec) / 1000) * scale,
      ...ack,
    },
    scale,
  );
}
