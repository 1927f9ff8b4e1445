/**
 * The host fingerprint (or any record of facts) as `key → string` rows, nested records as `a.b`:
 * what compare diffs between two hosts and what the HTML view lists. Model code, not a view, so
 * compare does not import the report layer for it.
 */
/** Flattens the fingerprint into `key → string` rows (nested records become `a.b`). */
export function flattenFacts(obj: Record<string, unknown> | undefined, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  if (!obj) return out;
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v === undefined) continue;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      for (const [k2, v2] of flattenFacts(v as Record<string, unknown>, key)) out.set(k2, v2);
    } else {
      out.set(key, typeof v === 'string' ? v : JSON.stringify(v));
    }
  }
  return out;
}
