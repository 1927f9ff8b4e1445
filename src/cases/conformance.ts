/**
 * Kind `conformance`: one kvm-unit-tests stanza (src/suites/kut.ts) booted as kvm-unit-tests'
 * own x86 runner boots it, through kvmbench's one launcher (argv array, deadline, process-group
 * kill): `-kernel X.flat` on `pc` (or the stanza's q35), `-nodefaults -no-reboot`, COM1 on stdio,
 * `isa-debug-exit` at 0xf4, `pc-testdev` and `pci-testdev`, QEMU's default `-cpu qemu64`, `-smp`
 * from the stanza, then its `qemu_params` words and `-append` with its `test_args`. Preconditions
 * first, each a skip with its reason: `nodefault`, `arch`, `machine`, `disabled_if` (a shell
 * expression: never evaluated), `check` (module parameters, read through the HostReader), a
 * missing image, a value that needs a shell. The verdict is src/kut/verdict.ts; every PASS/FAIL/
 * SKIP/XFAIL line is a sub-check in `conformance.checks`. No metrics: it is a functional test.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { liveHost } from '../host/reader.js';
import { evaluateCheck, parseCheck, unmetText } from '../kut/check.js';
import { timeoutSeconds } from '../kut/cfg.js';
import { KutOutput } from '../kut/output.js';
import { kutVerdict } from '../kut/verdict.js';
import { splitWords } from '../kut/words.js';
import type { Conformance } from '../results/model.js';
import type { CaseContext, CaseExecutor, CaseOutcome, CaseSpec } from './types.js';
import { FlagArg, NamesArg, TextArg, caseArgs } from './args.js';

/** What a stanza case carries (src/suites/kut.ts builds it from unittests.cfg; no suite file sets these). */
export const CONFORMANCE_ARGS = caseArgs({
  kut_dir: TextArg('the kvm-unit-tests tree'),
  tree_arch: TextArg('the arch the tree was built for'),
  file: TextArg('the test binary, relative to the tree'),
  cfg_line: TextArg('where the stanza is: FILE:LINE'),
  smp: TextArg("the stanza's smp value"),
  groups: NamesArg("the stanza's groups"),
  efi: FlagArg('an EFI build'),
  qemu_params: TextArg("the stanza's qemu_params / extra_params"),
  test_args: TextArg("the stanza's test_args"),
  arch: TextArg("the stanza's arch"),
  stanza_machine: TextArg("the stanza's machine"),
  accel: TextArg("the stanza's accel"),
  check: TextArg("the stanza's check lines"),
  disabled_if: TextArg("the stanza's disabled_if"),
  timeout: TextArg("the stanza's timeout"),
  nodefault: FlagArg('a nodefault stanza not named by --only'),
});
import { describeKvmFailure } from '../vmm/kvm-error.js';
import { launchQemu } from '../vmm/launch.js';
import type { QemuConfig } from '../vmm/qemu.js';

/**
 * Console bytes after which a guest is stopped as a flood: the chattiest x86 stanza (access)
 * prints about 650 KiB. `KVMBENCH_KUT_MAX_OUTPUT` (bytes) changes it, e.g. for a test.
 */
export const MAX_CONSOLE_BYTES = 4 * 1024 * 1024;

function outputCap(env: NodeJS.ProcessEnv = process.env): number {
  const v = Number(env.KVMBENCH_KUT_MAX_OUTPUT);
  return Number.isInteger(v) && v >= 4096 ? v : MAX_CONSOLE_BYTES;
}

function str(spec: CaseSpec, key: string): string | undefined {
  const v = spec.args[key];
  return v === undefined ? undefined : Array.isArray(v) ? v.join(' ') : String(v);
}

function conformanceOf(spec: CaseSpec, out?: KutOutput, exitStatus?: number | null): Conformance {
  const groups = spec.args.groups;
  return {
    test: spec.id,
    file: str(spec, 'file') ?? '',
    groups: Array.isArray(groups) ? groups : [],
    ...(exitStatus !== undefined && exitStatus !== null ? { exitStatus } : {}),
    ...(out?.summary ? { summary: out.summary.text } : {}),
    checks: out?.checks ?? [],
    ...(out?.dropped ? { checksDropped: out.dropped } : {}),
  };
}

/** Why the stanza cannot run here, before QEMU starts; undefined when it can. */
async function precondition(spec: CaseSpec, ctx: CaseContext): Promise<string | undefined> {
  if (spec.args.nodefault === true)
    return "in group nodefault (kvm-unit-tests runs it only when asked): select it with --only NAME or --only 'tag:nodefault'";
  const groups = Array.isArray(spec.args.groups) ? spec.args.groups : [];
  if (groups.includes('migration'))
    return 'group migration: the test wants to be migrated to a second QEMU, which kvmbench does not do';
  if (groups.includes('panic'))
    return 'group panic: the test ends in a guest panic that kvm-unit-tests judges over QMP, which kvmbench does not do for it';
  if (spec.args.efi === true)
    return 'the tree is built for EFI (CONFIG_EFI=y): kvmbench runs .flat images only; configure it without --enable-efi';
  const arch = str(spec, 'arch');
  const treeArch = str(spec, 'tree_arch') ?? 'x86_64';
  if (arch && arch !== treeArch) return `${arch} only; this tree is built for ${treeArch}`;
  const machine = str(spec, 'stanza_machine');
  if (machine && machine !== 'pc' && machine !== 'q35')
    return `machine ${machine} only; kvmbench boots kvm-unit-tests on pc or q35`;
  const disabled = str(spec, 'disabled_if');
  if (disabled) return `has disabled_if = ${disabled}: a shell expression, which kvmbench does not evaluate`;
  const smp = str(spec, 'smp') ?? '1';
  if (!/^\d+$/.test(smp) || Number(smp) < 1) return `smp = ${smp} needs a shell to evaluate`;
  if (timeoutSeconds(str(spec, 'timeout')) === undefined)
    return `timeout = ${str(spec, 'timeout')}: not a duration (e.g. 90, 90s, 2m)`;
  const conditions = parseCheck(str(spec, 'check'));
  if (!conditions) return `check = ${str(spec, 'check')}: expected path=value conditions`;
  const unmet = unmetText(await evaluateCheck(conditions, liveHost()));
  if (unmet.length) return `check: ${unmet.join('; ')}`;
  const image = join(str(spec, 'kut_dir') ?? '', str(spec, 'file') ?? '');
  try {
    if (!(await stat(image)).isFile()) return `${image} is not a file`;
  } catch {
    return `test image ${image} not found (not built? run make in the tree)`;
  }
  void ctx;
  return undefined;
}

export function conformanceQemu(
  spec: CaseSpec,
  ctx: Pick<CaseContext, 'accel'>,
  image: string,
  params: string[],
  append: string | undefined,
): QemuConfig {
  return {
    machine: spec.machine === 'q35' ? 'q35' : 'pc',
    accel: ctx.accel,
    // kvm-unit-tests passes no -cpu: QEMU's default model, unless the stanza names one.
    cpu: 'qemu64',
    ...(ctx.accel === 'kvm' ? { irqchip: 'on' as const } : {}),
    vcpus: spec.vcpus,
    memoryMiB: spec.memoryMiB,
    kernel: image,
    ...(append !== undefined ? { append } : {}),
    serial: 'stdio',
    debugExit: true,
    devices: ['pc-testdev', 'pci-testdev'],
    extraArgs: params,
  };
}

export const conformanceExecutor: CaseExecutor = {
  kind: 'conformance',
  args: CONFORMANCE_ARGS,
  async run(spec: CaseSpec, ctx: CaseContext): Promise<CaseOutcome> {
    const skipped = await precondition(spec, ctx);
    if (skipped) return { status: 'skip', reason: skipped, metrics: [], conformance: conformanceOf(spec) };
    const params = splitWords(str(spec, 'qemu_params') ?? '');
    const args = splitWords(str(spec, 'test_args') ?? '');
    if (!params.ok)
      return {
        status: 'skip',
        reason: `qemu_params ${params.reason}: kvmbench never runs one with cfg values`,
        metrics: [],
        conformance: conformanceOf(spec),
      };
    if (!args.ok)
      return {
        status: 'skip',
        reason: `test_args ${args.reason}: kvmbench never runs one with cfg values`,
        metrics: [],
        conformance: conformanceOf(spec),
      };
    const image = join(str(spec, 'kut_dir')!, str(spec, 'file')!);
    const qemu = conformanceQemu(spec, ctx, image, params.words, args.words.length ? args.words.join(' ') : undefined);
    const timeoutSec = timeoutSeconds(str(spec, 'timeout'))!;
    const out = new KutOutput();
    let bytes = 0;
    let flooded = false;
    const cap = outputCap();
    ctx.onPhase('running');
    const r = await launchQemu({
      qemu,
      timeoutMs: timeoutSec * 1000,
      deadlineAt: ctx.deadlineAt,
      signal: ctx.signal,
      logPath: ctx.logPath,
      onLine: (line) => {
        out.add(line.text);
        bytes += line.text.length + 1;
      },
      stopWhen: () => {
        if (bytes > cap) flooded = true;
        return flooded;
      },
    });
    // QEMU never got to the guest (no byte within the startup budget): the harness's error, not the test's verdict.
    if (r.startFailure?.kind === 'never-ran' && !r.aborted)
      return {
        status: 'error',
        reason: r.reason ?? r.startFailure.cause,
        accelerator: ctx.accel,
        metrics: [],
        conformance: conformanceOf(spec, out),
        facts: { qemuArgv: r.argv, cfg: str(spec, 'cfg_line') ?? '' },
      };
    const verdict = kutVerdict(
      {
        exitCode: r.exitCode,
        signal: r.signal,
        timedOut: r.timedOut,
        aborted: r.aborted,
        stderr: r.stderr,
        consoleBytes: r.consoleBytes,
        timeoutSec,
        ...(flooded ? { floodBytes: cap } : {}),
        ...(r.kvmFailure ? { kvmFailure: describeKvmFailure(r.kvmFailure) } : {}),
      },
      out,
    );
    const vm: Record<string, string> = {
      machine: qemu.machine,
      cpu: params.words.includes('-cpu') ? (params.words[params.words.lastIndexOf('-cpu') + 1] ?? 'qemu64') : 'qemu64',
    };
    return {
      status: verdict.status,
      ...(verdict.reason ? { reason: verdict.reason } : {}),
      accelerator: ctx.accel,
      metrics: [],
      vm,
      conformance: conformanceOf(spec, out, r.timedOut || r.aborted || flooded ? undefined : r.exitCode),
      facts: {
        qemuArgv: r.argv,
        qemuExitCode: r.exitCode,
        ...(r.signal ? { qemuSignal: r.signal } : {}),
        consoleBytes: r.consoleBytes,
        cfg: str(spec, 'cfg_line') ?? '',
      },
    };
  },
};
