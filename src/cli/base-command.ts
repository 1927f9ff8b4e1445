import { Command, Errors } from '@oclif/core';
import { ExitCode, KvmbenchError } from '../errors.js';

/**
 * Every kvmbench command extends this. It owns error rendering and exit codes:
 * oclif's own `this.error(msg, {exit})` loses the code under `--json` in core 4,
 * so commands throw KvmbenchError and this catch() sets the code explicitly.
 */
export abstract class BaseCommand extends Command {
  protected override async catch(err: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<unknown> {
    if (err instanceof KvmbenchError) {
      process.stderr.write(`kvmbench: ${err.message}\n`);
      if (err.hint) process.stderr.write(`  hint: ${err.hint}\n`);
      process.exitCode = err.exitCode;
      return this.exit(err.exitCode);
    }
    if (err instanceof Errors.ExitError) throw err;
    // oclif parse errors (unknown flag, missing arg) are usage errors.
    const name = err.constructor?.name ?? '';
    if (/Parse|Flag|Arg|Validation|RequiredArgs|Unexpected|Nonexistent/i.test(name) || err.oclif?.exit === 2) {
      process.stderr.write(`kvmbench: ${err.message}\n  hint: see \`kvmbench ${this.id ?? ''} --help\`\n`);
      process.exitCode = ExitCode.USAGE;
      return this.exit(ExitCode.USAGE);
    }
    return super.catch(err);
  }
}
