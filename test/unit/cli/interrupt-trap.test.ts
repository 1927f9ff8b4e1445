import { describe, expect, it } from 'vitest';
import { trapInterrupts } from '../../../src/cli/suite-run.js';

describe('trapInterrupts', () => {
  it('turns an internal error into a stop that writes partial results, and says what to report', () => {
    const before = process.listenerCount('unhandledRejection');
    const written: string[] = [];
    const trap = trapInterrupts({ write: (s: string) => written.push(s) });
    expect(process.listenerCount('unhandledRejection')).toBe(before + 1);
    expect(trap.internalError).toBeUndefined();
    trap.crashed(new Error('EPIPE writing to a socket\nsecond line'));
    expect(trap.signal.aborted).toBe(true);
    expect(trap.signal.reason).toBe('an internal error: EPIPE writing to a socket');
    expect(trap.internalError).toBe('EPIPE writing to a socket');
    const text = written.join('');
    expect(text).toMatch(/internal error \(a bug in kvmbench; please report it with this text\): Error: EPIPE/);
    expect(text).toMatch(/at .*interrupt-trap\.test\.ts/); // the stack, for the report
    expect(text).toContain('stopping the current case and writing partial results');
    trap.release();
    expect(process.listenerCount('unhandledRejection')).toBe(before);
  });

  it('a rejection with a value that is not an Error is named by its text', () => {
    const trap = trapInterrupts({ write: () => true });
    trap.crashed('a string rejection');
    expect(trap.signal.reason).toBe('an internal error: a string rejection');
    trap.release();
  });
});
