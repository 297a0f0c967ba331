import type { Server } from 'node:http';
import type { InFlightResponses } from './in-flight.ts';

export interface ConnectionDrain {
  /**
   * Drains a server that has stopped accepting (server.close() called): lets every request in
   * flight finish, then closes every connection left, and resolves with how many requests the
   * deadline cut short (0 when all finished in time).
   */
  drain(deadlineMs: number): Promise<number>;
}

/**
 * The connections a closing server must not wait for, closed as soon as nothing needs them:
 * - a keep-alive socket busy at the signal would stay open after its answer for the
 *   keep-alive timeout, so while draining each answer says `Connection: close`, and one whose
 *   head had already gone ends its socket when it finishes;
 * - a socket a client opened ahead of use (browsers and load balancers do), or one still
 *   trickling its head in, carries no request, and server.close() also stops Node's header and
 *   request timeouts: those are closed once the last request in flight has its answer;
 * - a request still running at the deadline (a slow upload, say) is cut, so the process still
 *   exits within its shutdown bound.
 */
export function createConnectionDrain(server: Server, tracked: InFlightResponses): ConnectionDrain {
  const inFlight = tracked.responses;
  let draining = false;
  let settle: (() => void) | undefined;
  tracked.onRequest((_req, res) => {
    if (draining) res.setHeader('connection', 'close');
  });
  tracked.onClose((res) => {
    if (!draining) return;
    // Answered with keep-alive before the drain began: nothing will reuse this socket.
    res.req.socket.end();
    if (inFlight.size === 0) settle?.();
  });
  return {
    async drain(deadlineMs) {
      draining = true;
      for (const res of inFlight) if (!res.headersSent) res.setHeader('connection', 'close');
      server.closeIdleConnections();
      if (inFlight.size > 0) {
        let timer: NodeJS.Timeout | undefined;
        await new Promise<void>((resolve) => {
          settle = resolve;
          timer = setTimeout(resolve, deadlineMs);
        });
        clearTimeout(timer);
      }
      const cut = inFlight.size;
      server.closeAllConnections();
      return cut;
    },
  };
}
