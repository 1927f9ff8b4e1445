/**
 * kvmbench's one glob dialect, for every pattern a user writes: `run --only/--skip`, a suite
 * include's `only`/`skip`, `compare --threshold`. The whole string must match.
 *
 * - `*` any run of characters except `/`; `?` one character except `/`;
 * - `**` any run of characters, `/` included;
 * - everything else is literal (`.`, `{`, `[`, `=`... have no special meaning).
 *
 * Ids and keys are `/`-separated paths (`exits/cpuid`, `exits/cpuid/cpuid.latency{machine=q35}`),
 * so `exits/*` is every case of the exits suite and `exits/**` everything below it.
 */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]!;
    if (ch === '*' && glob[i + 1] === '*') {
      re += '.*';
      i++;
    } else if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else re += ch.replace(/[.+^${}()|[\]\\/-]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** True when the pattern has a wildcard (otherwise it can only match itself). */
export function isGlob(pattern: string): boolean {
  return pattern.includes('*') || pattern.includes('?');
}

/** A predicate for one pattern; compile once, test many strings. */
export function globMatcher(glob: string): (s: string) => boolean {
  const re = globToRegExp(glob);
  return (s) => re.test(s);
}
