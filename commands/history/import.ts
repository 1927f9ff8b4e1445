import { Flags } from '@oclif/core';
import { BaseCommand } from '../../src/cli/base-command.js';
import { STORE_FLAG, storeOf } from '../../src/cli/history-flags.js';
import { UsageError } from '../../src/errors.js';
import { importRuns } from '../../src/app/history.js';
import { renderHistoryJson, renderImportText } from '../../src/report/history/index.js';
import { storeLocation } from '../../src/history/open.js';

export default class HistoryImport extends BaseCommand {
  static override summary = 'Add run directories (or results files) to the history store; idempotent by run id.';
  static override description =
    'Each DIR is a run directory or a results.json / results.jsonl. results.json stays the source of truth: the store only indexes ' +
    'runs, and importing them again adds nothing. Every run goes in one transaction (all of it or nothing); concurrent imports ' +
    'wait for each other. A directory that is not valid results is refused (exit 2) before anything is written.';
  static override strict = false;
  static override examples = [
    '<%= config.bin %> history import reports/*/',
    '<%= config.bin %> history import reports/2026* --store postgres://kvmbench@db:5432/kvmbench',
  ];
  static override flags = {
    ...STORE_FLAG,
    json: Flags.boolean({ default: false, description: 'print what was imported as JSON' }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(HistoryImport);
    const paths = argv as string[];
    if (paths.length === 0)
      throw new UsageError('history import needs at least one run directory', 'e.g. `kvmbench history import reports/*/`');
    const lines = await importRuns(storeOf(flags), paths);
    process.stdout.write(
      flags.json
        ? renderHistoryJson({ schema: 'kvmbench.history-import/1', store: storeLocation(flags.store), runs: lines })
        : renderImportText(lines, storeLocation(flags.store)),
    );
  }
}
