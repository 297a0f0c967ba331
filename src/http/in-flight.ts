import type { Server } from 'node:http';

export interface InFlightRequests {
  /** Settles once no request is being answered (at once when none is). */
  idle(): Promise<void>;
}

/**
 * Counts the requests the server is answering, so shutdown can close every connection once the
 * last one has its answer. closeIdleConnections() alone is not enough: it skips a connection a
 * client opened but has not sent a request on yet (browsers and load balancers open them ahead
 * of use), and server.close() would wait for such a socket until the headers timeout.
 */
export function trackInFlightRequests(server: Server): InFlightRequests {
  let active = 0;
  let waiting: (() => void)[] = [];
  server.on('request', (_req, res) => {
    active += 1;
    res.once('close', () => {
      active -= 1;
      if (active > 0) return;
      for (const resolve of waiting) resolve();
      waiting = [];
    });
  });
  return {
    idle: () =>
      active === 0 ? Promise.resolve() : new Promise<void>((resolve) => waiting.push(resolve)),
  };
}
