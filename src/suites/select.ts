/**
 * Case selection for `run --only/--skip`: a pattern selects a case when it matches the case
 * id (`cpuid`), the result id (`exits/cpuid`) or one of its tags (`in-kernel`); `tag:NAME`
 * matches tags only. Patterns are globs in kvmbench's one dialect (src/glob.ts): `*` and `?`
 * never cross `/`, `**` does.
 */
import { UsageError } from '../errors.js';
import { globToRegExp } from '../glob.js';
import type { CaseSpec } from '../cases/types.js';

function matcher(pattern: string): (c: CaseSpec) => boolean {
  if (pattern.startsWith('tag:')) {
    const re = globToRegExp(pattern.slice(4));
    return (c) => c.tags.some((t) => re.test(t));
  }
  const re = globToRegExp(pattern);
  return (c) => re.test(c.id) || re.test(`${c.suite}/${c.id}`) || c.tags.some((t) => re.test(t));
}

/**
 * Applies --only (any pattern) then --skip (none of the patterns). A pattern that matches no
 * case at all is a usage error: it is almost always a typo, and a silent empty run passes.
 */
export function selectCases(cases: readonly CaseSpec[], sel: { only?: readonly string[]; skip?: readonly string[] }): CaseSpec[] {
  const check = (flag: string, pats: readonly string[]) =>
    pats.map((p) => {
      if (p.length === 0 || p.length > 256) throw new UsageError(`--${flag}: empty or overlong pattern`);
      const m = matcher(p);
      if (!cases.some(m)) {
        const ids = cases.map((c) => `${c.suite}/${c.id}`);
        throw new UsageError(
          `--${flag} '${p}' matches no case id or tag of this suite`,
          `cases: ${ids.slice(0, 30).join(', ')}${ids.length > 30 ? ', …' : ''}`,
        );
      }
      return m;
    });
  const only = check('only', sel.only ?? []);
  const skip = check('skip', sel.skip ?? []);
  const out = cases.filter((c) => (only.length === 0 || only.some((m) => m(c))) && !skip.some((m) => m(c)));
  if (out.length === 0) throw new UsageError('no case left to run after --only/--skip');
  return out;
}
