/**
 * Seeded PRNG (sfc32) so bootstrap intervals, and therefore compare output, are the
 * same on every run of the same inputs. Math.random cannot be seeded.
 */
export type Rng = () => number;

export function sfc32(a: number, b: number, c: number, d: number): Rng {
  return () => {
    a |= 0;
    b |= 0;
    c |= 0;
    d |= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
}

/** FNV-1a, to derive a per-metric seed from its key: results do not depend on metric order. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function seededRng(seed: number | string): Rng {
  const s = typeof seed === 'string' ? hashString(seed) : seed >>> 0;
  const rng = sfc32(0x9e3779b9, 0x243f6a88, 0xb7e15162, s);
  for (let i = 0; i < 15; i++) rng(); // sfc32 needs a few rounds to mix a weak seed
  return rng;
}

/** Standard normal variate (Box-Muller). */
export function normal(rng: Rng): number {
  let u = 0;
  while (u === 0) u = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}
