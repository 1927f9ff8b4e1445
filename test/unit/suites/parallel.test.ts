import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/errors.js';
import { boundJobs, runInOrder } from '../../../src/suites/parallel.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('runInOrder', () => {
  it('commits in index order whatever order the tasks finish in, never more than jobs at once', async () => {
    const delays = [40, 5, 30, 1, 20, 2, 10];
    let running = 0;
    let peak = 0;
    const committed: number[] = [];
    await runInOrder(
      delays.length,
      3,
      async (i) => {
        running++;
        peak = Math.max(peak, running);
        await sleep(delays[i]!);
        running--;
        return i * 10;
      },
      async (i, r) => {
        committed.push(i);
        expect(r).toBe(i * 10);
      },
      () => false,
    );
    expect(committed).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(peak).toBe(3);
  });

  it('starts nothing new once stopped and still commits what ran', async () => {
    const started: number[] = [];
    const committed: number[] = [];
    let stop = false;
    await runInOrder(
      10,
      2,
      async (i) => {
        started.push(i);
        await sleep(5);
        if (i === 2) stop = true;
        return i;
      },
      async (i) => {
        committed.push(i);
      },
      () => stop,
    );
    expect(started.length).toBeLessThan(10);
    expect(committed).toEqual(started.slice().sort((a, b) => a - b));
  });

  it('passes a commit failure on after the tasks in flight', async () => {
    await expect(
      runInOrder(
        4,
        2,
        async (i) => i,
        async (i) => {
          if (i === 1) throw new Error('disk full');
        },
        () => false,
      ),
    ).rejects.toThrow('disk full');
  });
});

describe('boundJobs', () => {
  it('keeps what fits, lowers to the cores or free memory with a note, refuses nonsense', () => {
    const big = { cores: 16, freeBytes: 64 * 2 ** 30 };
    expect(boundJobs(undefined, 128, big)).toEqual({ jobs: 1 });
    expect(boundJobs(4, 128, big)).toEqual({ jobs: 4 });
    expect(boundJobs(8, 128, { cores: 2, freeBytes: 64 * 2 ** 30 })).toEqual({
      jobs: 2,
      note: '--jobs 8 lowered to 2: this host has 2 cores',
    });
    expect(boundJobs(8, 128, { cores: 16, freeBytes: 3 * 384 * 2 ** 20 }).jobs).toBe(3);
    expect(() => boundJobs(0, 128, big)).toThrow(UsageError);
    expect(() => boundJobs(65, 128, big)).toThrow(UsageError);
  });
});
