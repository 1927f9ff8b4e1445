import { describe, expect, it } from 'vitest';
import {
  attributeSamples,
  binBounds,
  withDerivedCounters,
  checkExpectation,
  describeCheck,
  metricCounters,
  parseExpectation,
  parseHistogram,
  type PhaseSnapshot,
} from '../../../src/cases/exit-accounting.js';

/** Counters as KVM would show them: `console` exits per window from the phase line, `loop` exits per test iteration. */
function phases(samples: number, iters: number, perIter: { exits: number; io_exits: number }, console = 40): PhaseSnapshot[] {
  let exits = 1000,
    io = 500,
    emul = 0;
  const out: PhaseSnapshot[] = [{ loop: 'init', i: 0, stats: { exits, io_exits: io, insn_emulation: emul } }];
  for (let i = 0; i < samples; i++) {
    // null window: the null loop (no exits) and one phase line
    exits += console;
    io += console;
    emul += 3 * iters;
    out.push({ loop: 'null', i, stats: { exits, io_exits: io, insn_emulation: emul } });
    // test window: the test loop and one phase line of the same length
    exits += console + perIter.exits * iters;
    io += console + perIter.io_exits * iters;
    out.push({ loop: 'test', i, stats: { exits, io_exits: io, insn_emulation: emul } });
  }
  return out;
}

describe('exit attribution', () => {
  it('gives (test window − null window) / iterations, so the console exits cancel', () => {
    const acc = attributeSamples(phases(3, 4096, { exits: 1, io_exits: 1 }), 4096);
    expect(acc).toHaveLength(3);
    for (const a of acc) {
      expect(a.perIteration.exits).toBeCloseTo(1, 12);
      expect(a.perIteration.io_exits).toBeCloseTo(1, 12);
      expect(a.nullDelta.exits).toBe(40);
      expect(a.nullEmulationsPerIteration).toBe(3);
    }
    expect(acc.map((a) => a.i)).toEqual([0, 1, 2]);
  });

  it('is exact to within the attribution noise of a few exits in the windows', () => {
    const p = phases(1, 4096, { exits: 0, io_exits: 0 });
    p[2]!.stats!.exits! += 4; // four stray exits (host interrupts) land in the test window
    const [a] = attributeSamples(p, 4096);
    expect(a!.perIteration.exits).toBeCloseTo(4 / 4096, 12);
    expect(a!.perIteration.exits! * 100).toBeLessThan(1); // under 1 % of one exit per iteration
  });

  it('derives caused_exits (exits less external-interrupt exits) for vCPU 0 and each cpuN., only where KVM gives both', () => {
    expect(withDerivedCounters({ exits: 130, irq_exits: 64, 'cpu1.exits': 128, 'cpu1.irq_exits': 0, 'cpu2.exits': 5 })).toEqual({
      exits: 130,
      irq_exits: 64,
      caused_exits: 66,
      'cpu1.exits': 128,
      'cpu1.irq_exits': 0,
      'cpu1.caused_exits': 128,
      'cpu2.exits': 5,
    });
    // An IPI sender one level down, as the nested lab measured it: 2 exits an iteration, one of them the host's tick.
    const p: PhaseSnapshot[] = [
      { loop: 'init', i: 0, stats: { exits: 0, irq_exits: 0 } },
      { loop: 'null', i: 0, stats: { exits: 158, irq_exits: 4 } },
      { loop: 'test', i: 0, stats: { exits: 158 + 158 + 128, irq_exits: 4 + 4 + 64 } },
    ];
    const [a] = attributeSamples(p, 64);
    expect(a!.perIteration.exits).toBeCloseTo(2, 12);
    expect(a!.perIteration.caused_exits).toBeCloseTo(1, 12);
    const [ok] = checkExpectation(parseExpectation('caused_exits=0-1'), [a!]);
    expect(ok!.ok).toBe(true);
    expect(checkExpectation(parseExpectation('exits=0-1'), [a!])[0]!.ok).toBe(false);
  });

  it('skips samples whose windows lack statistics or are out of order', () => {
    const p = phases(2, 100, { exits: 1, io_exits: 0 });
    delete p[1]!.stats;
    expect(attributeSamples(p, 100).map((a) => a.i)).toEqual([1]);
    expect(attributeSamples([p[0]!, p[2]!, p[1]!], 100)).toEqual([]);
  });
});

describe('declared expectations', () => {
  it('parses single counts and ranges, and refuses anything else', () => {
    expect(parseExpectation('exits=1 io_exits=1')).toEqual({ exits: [1, 1], io_exits: [1, 1] });
    expect(parseExpectation('exits=0-3')).toEqual({ exits: [0, 3] });
    expect(parseExpectation('')).toEqual({});
    expect(() => parseExpectation('exits=3-1')).toThrow(/backwards/);
    expect(() => parseExpectation('exits:1')).toThrow(/bad expectation/);
  });

  it('passes counts inside the declared range and fails one outside it, with the numbers', () => {
    const acc = attributeSamples(phases(5, 1000, { exits: 1, io_exits: 0 }), 1000);
    const [exits, io] = checkExpectation(parseExpectation('exits=1 io_exits=1'), acc);
    expect(exits!.ok).toBe(true);
    expect(io!.ok).toBe(false);
    expect(describeCheck(io!)).toBe('io_exits: 0.000 per iteration, expected 1');
    const [cost] = checkExpectation(parseExpectation('exits=0-1'), acc);
    expect(cost!.ok).toBe(true);
    expect(describeCheck(cost!)).toMatch(/expected 0–1/);
  });

  it('fails a counter KVM did not report instead of passing it', () => {
    const acc = attributeSamples(phases(2, 100, { exits: 1, io_exits: 0 }), 100);
    const [c] = checkExpectation({ hypercalls: [1, 1] }, acc);
    expect(c!.ok).toBe(false);
    expect(describeCheck(c!)).toMatch(/did not report/);
  });
});

describe('which counters become metrics', () => {
  it('are the declared ones and insn_emulation, whatever was measured, so every run has the same metrics', () => {
    expect(metricCounters(parseExpectation('exits=1 io_exits=1'))).toEqual(['io_exits', 'insn_emulation']);
    expect(metricCounters(parseExpectation('exits=0-1'))).toEqual(['insn_emulation']);
    expect(metricCounters(parseExpectation('exits=1-4 halt_exits=1 insn_emulation=0'))).toEqual(['halt_exits', 'insn_emulation']);
  });
});

describe('per-iteration histogram', () => {
  it('has quarter-octave bins', () => {
    expect(binBounds(40)).toEqual([1024, 1280]);
    expect(binBounds(43)).toEqual([1792, 2048]);
    expect(binBounds(44)[0]).toBe(2048);
  });

  it('gives p50/p99/p99.9 from the bins, and shows a second mode', () => {
    const h = parseHistogram({ n: '1000', overhead: '30', bins: '40:980,52:20' })!;
    expect(h.n).toBe(1000);
    expect(h.overheadTicks).toBe(30);
    expect(h.p50).toBeCloseTo(Math.sqrt(1024 * 1280), 6);
    // 2 % of iterations sit about 8x higher: p99 and p99.9 land in that mode.
    expect(h.p99).toBeCloseTo(Math.sqrt(binBounds(52)[0] * binBounds(52)[1]), 6);
    expect(h.p999).toBe(h.p99);
  });

  it('refuses a garbled bins field', () => {
    expect(parseHistogram({ n: '10', overhead: '1', bins: '40:x' })).toBeUndefined();
    expect(parseHistogram({ n: '0', bins: '40:1' })).toBeUndefined();
  });
});

describe('declarations that know the CPU, and the protocol noise', () => {
  it('resolves counter@feature and counter@!feature words against the CPU, and drops them when the CPU is unknown', async () => {
    const { parseExpectation } = await import('../../../src/cases/exit-accounting.js');
    const text = 'exits=1 insn_emulation@!nrips=1 insn_emulation@nrips=0';
    expect(parseExpectation(text, new Set(['svm']))).toEqual({ exits: [1, 1], insn_emulation: [1, 1] });
    expect(parseExpectation(text, new Set(['svm', 'nrips']))).toEqual({ exits: [1, 1], insn_emulation: [0, 0] });
    expect(parseExpectation(text)).toEqual({ exits: [1, 1] });
    // A conditional word overrides the plain one for its counter.
    expect(parseExpectation('exits=0-1 exits@tpr=0', new Set(['tpr']))).toEqual({ exits: [0, 0] });
    expect(parseExpectation('exits=0-1 exits@tpr=0', new Set(['vmx']))).toEqual({ exits: [0, 1] });
    expect(() => parseExpectation('exits@warp=1')).toThrow(/unknown CPU feature 'warp'/);
  });

  it('widens a check by the noise of the null windows, never by a whole exit', async () => {
    const { checkExpectation, protocolNoise, MAX_NOISE_ALLOWANCE } = await import('../../../src/cases/exit-accounting.js');
    // 32 iterations; the null windows' exits vary by up to 10 (UART polling while the host is slow).
    const samples = [0, 4, 10, 2, 7, 9, 1].map((extra, i) => ({
      i,
      iterations: 32,
      nullDelta: { exits: 170 + extra },
      testDelta: { exits: 170 + extra + 135 },
      perIteration: { exits: 135 / 32 },
      nullEmulationsPerIteration: 0,
    }));
    const noise = protocolNoise(samples, 'exits');
    expect(noise).toBeCloseTo(8 / 32, 5); // p90 − p10 of the extras: 9 − 1
    const [c] = checkExpectation({ exits: [1, 4] }, samples);
    expect(c!.ok).toBe(true); // 4.22 within 4 + 0.1 + 0.25
    // A whole extra exit is never absorbed: the allowance is capped.
    const noisy = samples.map((s, k) => ({ ...s, nullDelta: { exits: 170 + k * 40 }, perIteration: { exits: 5.2 } }));
    expect(protocolNoise(noisy, 'exits')).toBeGreaterThan(MAX_NOISE_ALLOWANCE);
    expect(checkExpectation({ exits: [1, 4] }, noisy)[0]!.ok).toBe(false);
  });
});

describe('virtFeatures', () => {
  it('reads NRIPS, V_TPR and AVIC on AMD-V, TPR shadow and APICv on VT-x, nothing without either', async () => {
    const { virtFeatures } = await import('../../../src/host/virt-features.js');
    const amdNoNrips = 'processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu svm npt hypervisor\n';
    expect([...virtFeatures(amdNoNrips)].sort()).toEqual(['svm', 'tpr']);
    const amd = 'processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu svm npt nrip_save avic decodeassists vgif\n';
    expect([...virtFeatures(amd)].sort()).toEqual(['avic', 'decodeassists', 'nrips', 'svm', 'tpr', 'vgif']);
    const intel =
      'processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu vmx ept\nvmx flags\t: vnmi preemption_timer posted_intr invvpid ept_x_only flexpriority apicv tsc_offset vtpr mtf vapic ept vpid unrestricted_guest\n';
    expect([...virtFeatures(intel)].sort()).toEqual(['apicv', 'flexpriority', 'nrips', 'posted_intr', 'vmx', 'vnmi']);
    expect([...virtFeatures('processor\t: 0\nflags\t\t: fpu hypervisor\n')]).toEqual([]);
  });
});
