#!/usr/bin/env node
// Writes schemas/*.schema.json from the TypeBox definitions (built into dist/ by
// `npm run build:ts`); with --check, exits 1 instead if a committed file is stale.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { schemaDocuments, schemaFileText } = await import(join(root, 'dist/src/schemas/index.js'));
const check = process.argv.includes('--check');
mkdirSync(join(root, 'schemas'), { recursive: true });
let stale = 0;
for (const [name, doc] of Object.entries(schemaDocuments())) {
  const file = join(root, 'schemas', name);
  const text = schemaFileText(doc);
  let old = '';
  try {
    old = readFileSync(file, 'utf8');
  } catch {
    // missing counts as stale
  }
  if (old === text) continue;
  stale++;
  if (check) console.error(`schemas/${name} is stale: run npm run schemas`);
  else {
    writeFileSync(file, text);
    console.log(`wrote schemas/${name}`);
  }
}
process.exit(check && stale ? 1 : 0);
