import type { ServerResponse } from 'node:http';

const STARTED = Symbol('response started');
type TimedResponse = ServerResponse & { [STARTED]?: number };

/**
 * Notes on the response, once, when its request began: the access log and the metrics read
 * the same start, with no closure made per request to keep it.
 */
export function markStarted(res: ServerResponse): void {
  (res as TimedResponse)[STARTED] ??= performance.now();
}

/** Milliseconds since markStarted, for a response it was called on. */
export function elapsedMs(res: ServerResponse): number {
  return performance.now() - (res as TimedResponse)[STARTED]!;
}
