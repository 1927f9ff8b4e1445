import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../src/cli/base-command.js';
import { makeColor } from '../src/report/color.js';
import { ExitCode, KvmbenchError, UsageError } from '../src/errors.js';
import { executors } from '../src/cases/index.js';
import { listShippedSuites, loadSuite, type LoadedSuite } from '../src/suites/load.js';

interface SuiteListing {
  suite: string;
  file: string;
  description?: string;
  /** Set when the file does not load; its cases are then unknown. */
  error?: string;
  cases: {
    id: string;
    kind: string;
    machine: string;
    accel: string[];
    repeat: number;
    deadline: number;
    /** The case's own startup budget (`startup:`), when it sets one; else the accelerator's default applies. */
    startup?: number;
    tags: string[];
    requires: string[];
    title?: string;
  }[];
}

function listing(s: LoadedSuite): SuiteListing {
  return {
    suite: s.name,
    file: s.file,
    ...(s.description ? { description: s.description } : {}),
    cases: s.cases.map((c) => ({
      id: `${c.suite}/${c.id}`,
      kind: c.kind,
      machine: c.machine,
      accel: c.accel,
      repeat: c.repeat,
      deadline: c.deadlineSec,
      ...(c.startupSec !== undefined ? { startup: c.startupSec } : {}),
      tags: c.tags,
      requires: c.requires,
      ...(c.title ? { title: c.title } : {}),
    })),
  };
}

export default class Suites extends BaseCommand {
  static override summary = 'List the shipped suites and their cases.';
  static override description =
    'Shows every suite under suites/ (or one, by name or path) with its cases after includes and defaults. ' +
    'Exit 2 if a suite file does not load.';
  static override examples = [
    '<%= config.bin %> suites',
    '<%= config.bin %> suites exits --quick',
    '<%= config.bin %> suites --json',
  ];

  static override args = {
    suite: Args.string({ description: 'show only this suite (name or path)' }),
  };

  static override flags = {
    json: Flags.boolean({ description: 'print the listing as JSON' }),
    quick: Flags.boolean({ description: 'show the cases as `run --quick` would run them' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Suites);
    const kinds = Object.keys(executors);
    const names = args.suite ? [args.suite] : listShippedSuites();
    const out: SuiteListing[] = [];
    for (const name of names) {
      try {
        out.push(listing(loadSuite(name, { quick: flags.quick, kinds, argsOf: (k) => executors[k]?.args })));
      } catch (err) {
        if (args.suite || !(err instanceof KvmbenchError)) throw err;
        out.push({ suite: name, file: '', error: err.message, cases: [] });
      }
    }
    if (out.length === 0) throw new UsageError('no suites found', 'suites live in the package’s suites/ directory');

    if (flags.json) {
      process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    } else {
      const c = makeColor();
      for (const s of out) {
        process.stdout.write(`${c.bold(s.suite)}${s.description ? ` — ${s.description}` : ''}\n`);
        if (s.error) {
          process.stdout.write(`  ${c.red('error:')} ${s.error.replace(/\n/g, '\n  ')}\n\n`);
          continue;
        }
        const w = Math.max(...s.cases.map((k) => k.id.length));
        for (const k of s.cases) {
          const startup = k.startup !== undefined ? `, startup ${k.startup} s` : '';
          const facts = `${k.kind}, ${k.machine}, ${k.accel.join('/')}, ×${k.repeat}, ${k.deadline} s${startup}`;
          const tags = k.tags.length ? c.dim(` [${k.tags.join(', ')}]`) : '';
          process.stdout.write(`  ${k.id.padEnd(w)}  ${c.dim(facts)}${tags}${k.title ? `  ${k.title}` : ''}\n`);
        }
        process.stdout.write('\n');
      }
      // Not a file: built from the user's tree at run time (docs/kut.md).
      process.stdout.write(
        `${c.bold('kut')} — a kvm-unit-tests tree's x86/unittests.cfg, one case a stanza: run kut --kut-dir DIR\n`,
      );
    }
    if (out.some((s) => s.error)) {
      process.exitCode = ExitCode.USAGE;
      this.exit(ExitCode.USAGE);
    }
  }
}
