import type { ResponseRecord } from './load.ts';

/** The 5xx answers the contract documents for a dependency that is down or overloaded. */
const DOCUMENTED_5XX = new Set([
  '503 system:dependency_unavailable',
  '503 system:overloaded',
  '503 system:timeout',
  '502 search:query_failed',
]);

const keyOf = (r: ResponseRecord) => (r.code ? `${r.status} ${r.code}` : String(r.status));

/** Responses with a 5xx outside the documented set: each one is a defect. */
export const unexpected5xx = (responses: readonly ResponseRecord[]) =>
  responses.filter((r) => r.status >= 500 && !DOCUMENTED_5XX.has(keyOf(r)));

/** Requests that got no answer at all: a refused or dropped connection, or a hang. */
export const unanswered = (responses: readonly ResponseRecord[]) =>
  responses.filter((r) => r.status === 0);

/** `status code` → count, most frequent first, for a report's notes and a failure's message. */
export function tally(responses: readonly ResponseRecord[]): string {
  const counts = new Map<string, number>();
  for (const r of responses) {
    const key = r.status >= 200 && r.status < 300 ? '2xx' : `${keyOf(r)} (${r.operation})`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .map(([key, n]) => `${key}: ${n}`)
    .join(', ');
}
