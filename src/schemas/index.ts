/**
 * The JSON Schema files under schemas/, generated from the TypeBox definitions that also
 * validate at run time, so the published schema cannot drift from what kvmbench accepts.
 * `npm run schemas` writes them; test/unit/schemas.test.ts fails when they are stale.
 */
import { Results, RESULTS_SCHEMA } from '../results/model.js';
import { SuiteFile } from '../suites/schema.js';

const DRAFT = 'http://json-schema.org/draft-07/schema#';

/** TypeBox schemas are JSON Schema plus symbol-keyed metadata, which JSON drops. */
function plain(schema: unknown): Record<string, unknown> {
  return JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;
}

export function schemaDocuments(): Record<string, Record<string, unknown>> {
  return {
    'results.schema.json': {
      $schema: DRAFT,
      title: `kvmbench results (${RESULTS_SCHEMA})`,
      ...plain(Results),
    },
    'suite.schema.json': {
      $schema: DRAFT,
      title: 'kvmbench suite file',
      ...plain(SuiteFile),
    },
  };
}

/** The exact text written to each file (stable key order from the definitions, two-space indent). */
export function schemaFileText(doc: Record<string, unknown>): string {
  return JSON.stringify(doc, null, 2) + '\n';
}
