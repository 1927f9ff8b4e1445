import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { schemaDocuments, schemaFileText } from '../../../src/schemas/index.js';

const root = resolve(import.meta.dirname, '../../..');

describe('committed JSON Schemas', () => {
  for (const [name, doc] of Object.entries(schemaDocuments())) {
    it(`schemas/${name} matches the TypeBox definition (run \`npm run schemas\` if not)`, () => {
      expect(readFileSync(join(root, 'schemas', name), 'utf8')).toBe(schemaFileText(doc));
    });
  }

  it('the results schema pins the schema version and requires the core fields', () => {
    const r = schemaDocuments()['results.schema.json']!;
    expect((r.properties as Record<string, { const?: string }>).schema!.const).toBe('kvmbench.results/1');
    expect(r.required).toEqual(['schema', 'run', 'host', 'cases']);
  });
});
