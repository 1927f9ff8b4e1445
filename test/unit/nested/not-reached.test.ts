import { describe, expect, it } from 'vitest';
import { casesNotReached } from '../../../src/app/nested.js';
import { caseSpec } from '../../helpers/case-context.js';

describe('cases L1 never reached', () => {
  it('are errors of their own, in plan order, saying why L1 stopped; the finished ones are left alone', () => {
    const planned = ['cpuid', 'inl_from_qemu', 'vmcall'].map((id) => caseSpec({ id, kind: 'exits', tags: ['exit'] }));
    const lost = casesNotReached(planned, [{ id: 'exits/cpuid' }], 'the guest printed nothing for 300 s', '2026-12-07T06:00:00Z');
    expect(lost.map((c) => [c.id, c.status])).toEqual([
      ['exits/inl_from_qemu', 'error'],
      ['exits/vmcall', 'error'],
    ]);
    expect(lost[0]!.reason).toBe(
      "not run at layer 2: L1 stopped before this case (the guest printed nothing for 300 s); L1's console is layer1/console.log",
    );
    expect(lost[0]).toMatchObject({ suite: 'exits', kind: 'exits', metrics: [], tags: ['exit'], durationMs: 0 });
    expect(
      casesNotReached(
        planned,
        planned.map((c) => ({ id: `exits/${c.id}` })),
        'x',
        '',
      ),
    ).toEqual([]);
  });
});
