/**
 * Once per `vitest run` of the e2e project, before any e2e file: build the CLI and the guests
 * unless `npm test` has just done so (its `npm run build` step), and make a directory the e2e
 * files share for the runs they can reuse (test/helpers/shared-run.ts), removed at the end.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { packageRoot } from '../src/version.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Where shared runs live for this vitest invocation. */
    sharedRunsDir: string;
  }
}

export default function setup(project: TestProject): () => void {
  if (process.env.npm_lifecycle_event !== 'test') {
    execFileSync('npm', ['run', 'build'], { cwd: packageRoot(), stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const dir = mkdtempSync(join(tmpdir(), 'kvmbench-e2e-shared-'));
  project.provide('sharedRunsDir', dir);
  return () => rmSync(dir, { recursive: true, force: true });
}
