import { Flags } from '@oclif/core';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { BaseCommand } from '../src/cli/base-command.js';
import { makeColor } from '../src/report/color.js';
import { ExitCode, UsageError } from '../src/errors.js';
import { doctorSession } from '../src/app/doctor.js';
import { DOCTOR_PROFILES, type ProfileSelection } from '../src/doctor/types.js';
import { toJson } from '../src/report/doctor/json.js';
import { renderText } from '../src/report/doctor/text.js';
import { checkHostSnapshot } from '../src/host/snapshot-check.js';

/** `--kut-dir`: the tree read now (a bad tree is exit 2 before any check runs), its check loaded on demand. */
async function kutStanzasCheckFor(dir: string) {
  const [{ readKutTree }, { kutStanzasCheck }] = await Promise.all([
    import('../src/kut/tree.js'),
    import('../src/doctor/checks/conform.js'),
  ]);
  return kutStanzasCheck(readKutTree(dir));
}

export default class Doctor extends BaseCommand {
  static override summary =
    'Check whether this host can run KVM guests (and is fit for benchmarking), and say how to fix what is not.';
  static override description =
    'The verdict comes from a functional probe of /dev/kvm (open, KVM_GET_API_VERSION, KVM_CREATE_VM, ' +
    'KVM_CHECK_EXTENSION); CPU flags, firmware state and modules are evidence that explains a failure. ' +
    'All checks run; --profile picks which decide the exit code: 0 when none of them fails, 1 otherwise. ' +
    '--save-host DIR writes what the doctor read (redacted: hostname, serials, MAC addresses, UUIDs) for a bug report; ' +
    '--root DIR runs the doctor on such a snapshot instead of this host.';
  static override examples = [
    '<%= config.bin %> doctor',
    '<%= config.bin %> doctor --profile bench',
    '<%= config.bin %> doctor --boot',
    '<%= config.bin %> doctor --json > doctor.json',
    '<%= config.bin %> doctor --profile all --junit reports/doctor.xml',
    '<%= config.bin %> doctor --profile cvm',
    '<%= config.bin %> doctor --profile conform --kut-dir ~/kvm-unit-tests',
    '<%= config.bin %> doctor --save-host host-snapshot/',
    '<%= config.bin %> doctor --root host-snapshot/ --profile all',
  ];

  static override flags = {
    profile: Flags.string({
      char: 'p',
      options: [...DOCTOR_PROFILES, 'all'],
      default: 'kvm',
      description: 'which checks decide the verdict and exit code',
    }),
    json: Flags.boolean({
      default: false,
      description: 'print one JSON object (checks, kvm.usable, verdict, host fingerprint) instead of the table',
    }),
    junit: Flags.string({ description: 'also write the checks as a JUnit XML file' }),
    verbose: Flags.boolean({ char: 'v', default: false, description: 'show evidence for passing checks too' }),
    boot: Flags.boolean({
      default: false,
      description:
        'also boot a real micro guest under -accel kvm (check kvm.boot-smoke; under TCG when KVM is unusable, as evidence)',
    }),
    'save-host': Flags.string({
      description:
        'also save what the doctor read here as a host snapshot in DIR (redacted: hostname, serials, MAC addresses, UUIDs, unrelated /etc/group entries and kernel log lines), for a bug report',
      helpValue: 'DIR',
    }),
    root: Flags.string({
      description: 'examine a host snapshot (from --save-host, or a captured tree) in DIR instead of this host',
      helpValue: 'DIR',
    }),
    'kut-dir': Flags.string({
      description:
        'with --profile conform: also say which stanzas of this kvm-unit-tests tree (x86/unittests.cfg) would skip here, and why (check conform.stanzas)',
      helpValue: 'DIR',
    }),
    'host-tree': Flags.string({
      hidden: true,
      description: 'examine a captured host tree (test/fixtures/hosts/<name>) instead of this host (same as --root)',
    }),
    capture: Flags.string({
      hidden: true,
      description: 'also save everything the doctor read as a host tree in this directory, unredacted (for fixtures)',
    }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Doctor);
    const tree = flags.root ?? flags['host-tree'];
    const saveTo = flags['save-host'] ?? flags.capture;
    if (flags.root && flags['host-tree']) throw new UsageError('--root and --host-tree are the same option; give one');
    if (flags['save-host'] && flags.capture) throw new UsageError('--save-host and --capture exclude each other');
    if (tree && saveTo)
      throw new UsageError(
        `${flags.root ? '--root' : '--host-tree'} and ${flags['save-host'] ? '--save-host' : '--capture'} exclude each other: a snapshot is saved from this host only`,
      );
    if (tree) checkHostSnapshot(resolve(tree), flags.root ? '--root' : '--host-tree');
    const session = await doctorSession({
      profile: flags.profile as ProfileSelection,
      boot: flags.boot,
      ...(flags['kut-dir'] ? { extraChecks: [await kutStanzasCheckFor(flags['kut-dir'])] } : {}),
      ...(tree ? { tree } : {}),
      ...(saveTo ? { save: { dir: saveTo, kind: flags['save-host'] ? ('snapshot' as const) : ('capture' as const) } } : {}),
    });
    const { report, host } = session;

    if (flags.json) {
      process.stdout.write(`${JSON.stringify(toJson(report, host), null, 2)}\n`);
    } else {
      const c = makeColor();
      const head = [
        host.cpuModel,
        host.kernelRelease && `Linux ${host.kernelRelease}`,
        host.qemuVersion && `QEMU ${host.qemuVersion}`,
        host.virtualized !== 'no' && host.virtualized,
      ]
        .filter(Boolean)
        .join(' · ');
      process.stdout.write(`${c.bold('kvmbench doctor')} ${c.dim(head)}\n${renderText(report, c, { verbose: flags.verbose })}`);
    }
    if (flags.junit) {
      await mkdir(dirname(resolve(flags.junit)), { recursive: true });
      // Loaded on demand: the JUnit writer costs more start-up time than the doctor's own checks.
      const { junitXml } = await import('../src/report/doctor/junit.js');
      await writeFile(flags.junit, junitXml(report, host), 'utf8');
      if (!flags.json) process.stderr.write(`kvmbench: wrote ${flags.junit}\n`);
    }
    if (session.saved) process.stderr.write(`kvmbench: ${session.saved}\n`);
    // Set the code explicitly: oclif 4 loses custom exit codes in some paths (see BaseCommand).
    const code = report.verdict === 'fail' ? ExitCode.FAILED : ExitCode.OK;
    process.exitCode = code;
    if (code !== ExitCode.OK) this.exit(code);
  }
}
