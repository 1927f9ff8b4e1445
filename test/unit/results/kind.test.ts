/** CaseResult.kind: recorded by the runner, inferred on load for results written before it existed. */
import { describe, expect, it } from 'vitest';
import { caseKind, withCaseKinds } from '../../../src/results/kind.js';
import { validateResults } from '../../../src/results/load.js';
import { Results } from '../../../src/results/model.js';
import { Value } from '@sinclair/typebox/value';
import { caseResult, makeResults } from '../../helpers/results-fixture.js';

/** A case as results/1 files had it before `kind`: no such field. */
function legacy(id: string, suite = id.split('/')[0]!) {
  const { kind: _drop, ...c } = caseResult(id, { suite });
  return c;
}

describe('CaseResult.kind', () => {
  it('is optional in the schema and must not be empty when present', () => {
    expect(Value.Check(Results, makeResults([legacy('exits/cpuid')]))).toBe(true);
    expect(Value.Check(Results, makeResults([caseResult('exits/cpuid', { kind: 'exits' })]))).toBe(true);
    expect(Value.Check(Results, makeResults([caseResult('exits/cpuid', { kind: '' })]))).toBe(false);
  });

  it('a recorded kind wins over the suite name', () => {
    expect(caseKind({ kind: 'raw', suite: 'exits' })).toBe('raw');
  });

  it('older results get the kind their suite is named after, and nothing is guessed from other names', () => {
    expect(caseKind({ suite: 'boot-linux' })).toBe('boot-linux');
    expect(caseKind({ suite: 'exits' })).toBe('exits');
    // A user's suite: the old views guessed "exits" from the name; now it is unknown.
    expect(caseKind({ suite: 'my-exits' })).toBeUndefined();
    expect(caseKind({ suite: 'quick' })).toBeUndefined();
  });

  it('loading fills in inferred kinds and leaves the rest undefined', () => {
    const doc = JSON.parse(
      JSON.stringify(
        makeResults([legacy('io/randread'), legacy('mine/x'), caseResult('raw/pio', { kind: 'raw', suite: 'exits' })]),
      ),
    );
    const r = validateResults(doc);
    expect(r.cases.map((c) => c.kind)).toEqual(['io', undefined, 'raw']);
    expect('kind' in r.cases[1]!).toBe(false);
  });

  it('withCaseKinds returns the same object, filled in', () => {
    const r = makeResults([legacy('doctor/gate')]);
    expect(withCaseKinds(r)).toBe(r);
    expect(r.cases[0]!.kind).toBe('doctor');
  });
});
