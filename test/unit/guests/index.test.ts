import { describe, expect, it } from 'vitest';
import { EnvironmentError } from '../../../src/errors.js';
import { guestImage, guestNames, guestTests } from '../../../src/guests/index.js';

describe('the micro guests are the directories under guests/', () => {
  it('lists each directory with C sources, not the runtime, the raw blobs or the Linux init', () => {
    const names = guestNames();
    expect(names).toEqual(expect.arrayContaining(['exits', 'hello']));
    for (const not of ['lib', 'raw', 'linux']) expect(names).not.toContain(not);
  });

  it('refuses a guest without a directory, naming the ones there are', async () => {
    const err = await guestImage('nope').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EnvironmentError);
    expect(err).toMatchObject({ message: "unknown micro guest 'nope'", hint: `known guests (directories under guests/): ${guestNames().join(', ')}` });
    expect((err as EnvironmentError).hint).toMatch(/\bexits, hello\b/);
  });

  it('has a list of tests only where the guest has a tests.def', () => {
    expect(guestTests('hello')).toBeUndefined();
    expect(guestTests('exits')?.map((r) => r.name)).toContain('cpuid');
  });
});
