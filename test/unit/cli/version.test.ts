import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Config } from '@oclif/core';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../../src/version.js';

describe('kvmbench --version without oclif', () => {
  it('prints what oclif itself would print (its user agent)', async () => {
    const root = packageRoot();
    const config = await Config.load(root);
    const r = spawnSync(process.execPath, [join(root, 'bin', 'run.js'), '--version'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${config.userAgent}\n`);
  });
});
