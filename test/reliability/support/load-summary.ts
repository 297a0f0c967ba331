import type { LoadOperation, ResponseRecord } from './load.ts';

/**
 * The 5xx answers (`status code`) a scenario may get, per operation: what docs/operations.md
 * ("When a dependency goes down") says answers differently while that dependency is down. An
 * operation left out, and every operation in a scenario without a fault, may get none.
 */
export type AllowedFailures = Partial<Record<LoadOperation, readonly string[]>>;

/**
 * A request that needs a dependency that is down fails fast: a stopped service refuses
 * connections, and the kit's clients give up at once or after one reconnect back-off (≤ 2 s).
 * Five times that; a 503 system:timeout after the 30 s request budget is a hang, not fast.
 */
export const FAIL_FAST_BOUND_MS = 10_000;

const keyOf = (r: ResponseRecord) => (r.code ? `${r.status} ${r.code}` : String(r.status));

/** Responses with a 5xx that `allowed` does not list for their operation: each is a defect. */
export const unexpected5xx = (responses: readonly ResponseRecord[], allowed: AllowedFailures) =>
  responses.filter((r) => r.status >= 500 && !allowed[r.operation]?.includes(keyOf(r)));

/** 5xx answers that took longer than FAIL_FAST_BOUND_MS: a dependency's loss made them hang. */
export const slow5xx = (responses: readonly ResponseRecord[]) =>
  responses.filter((r) => r.status >= 500 && r.durationMs > FAIL_FAST_BOUND_MS);

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
