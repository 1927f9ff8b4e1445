import { Flags } from '@oclif/core';
import { BaseCommand } from '../../src/cli/base-command.js';
import { FILTER_FLAGS, STORE_FLAG, filterOf, storeOf } from '../../src/cli/history-flags.js';
import { listRuns } from '../../src/app/history.js';
import { renderHistoryJson, renderRunsText } from '../../src/report/history/index.js';

export default class HistoryList extends BaseCommand {
  static override summary = 'List the stored runs, newest first, filtered by host, host class, suite or time.';
  static override examples = [
    '<%= config.bin %> history list --host ci-07 --since 2026-12-01',
    '<%= config.bin %> history list --suite exits --json',
  ];
  static override flags = {
    ...STORE_FLAG,
    ...FILTER_FLAGS,
    limit: Flags.integer({ min: 1, description: 'at most this many runs' }),
    json: Flags.boolean({ default: false, description: 'JSON instead of a table' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(HistoryList);
    const { store, runs } = await listRuns(storeOf(flags), filterOf(flags));
    const shown = flags.limit ? runs.slice(0, flags.limit) : runs;
    process.stdout.write(
      flags.json ? renderHistoryJson({ schema: 'kvmbench.history-list/1', store, runs: shown }) : renderRunsText(shown, store),
    );
  }
}
