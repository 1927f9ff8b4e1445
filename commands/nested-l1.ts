import { Args } from '@oclif/core';
import { BaseCommand } from '../src/cli/base-command.js';
import { runNestedL1 } from '../src/app/nested-l1.js';
import { loadSelectedSuite } from '../src/cli/suite-run.js';
import { makeReporter } from '../src/cli/progress.js';
import { makeColor } from '../src/report/color.js';

/** What L1's /init runs in the nested lab (docs/nested.md); not for people. */
export default class NestedL1 extends BaseCommand {
  static override hidden = true;
  static override summary = "Inside the nested lab's L1: run the doctor and the plan's suites against L2 guests.";
  static override args = { plan: Args.string({ required: true, description: 'the plan file in the channel directory' }) };

  async run(): Promise<void> {
    const { args } = await this.parse(NestedL1);
    const code = await runNestedL1(args.plan, {
      select: loadSelectedSuite,
      reporter: () => makeReporter(process.stderr, makeColor(process.stderr)),
    });
    process.exitCode = code;
    this.exit(code);
  }
}
