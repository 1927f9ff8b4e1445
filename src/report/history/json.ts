/** JSON views of the history models: the models themselves, with a schema tag each, non-finite numbers as null. */
export function renderHistoryJson(model: unknown): string {
  return JSON.stringify(model, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n';
}
