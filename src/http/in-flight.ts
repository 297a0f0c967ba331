import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

export interface InFlightResponses {
  /** Whether a response on this socket has sent its head and not closed yet. */
  underWayOn(socket: Duplex): boolean;
  /** The responses not closed yet. */
  readonly responses: ReadonlySet<ServerResponse>;
  /** Runs for every request as it arrives, before the app sees it. */
  onRequest(listener: (req: IncomingMessage, res: ServerResponse) => void): void;
  /** Runs for every response once it has closed (answered in full, or its client gone). */
  onClose(listener: (res: ServerResponse) => void): void;
}

/**
 * The responses a server has not closed yet, kept once for everything that must know them:
 * the shutdown drain and the answer to a request Node refuses. One set, one listener on the
 * server and one shared `close` listener per response, with no closure made per request.
 */
export function trackInFlight(server: Server): InFlightResponses {
  const responses = new Set<ServerResponse>();
  const requestListeners: ((req: IncomingMessage, res: ServerResponse) => void)[] = [];
  const closeListeners: ((res: ServerResponse) => void)[] = [];
  function closed(this: ServerResponse) {
    responses.delete(this);
    for (const listener of closeListeners) listener(this);
  }
  // Ahead of the app, so a listener can set a header before any handler answers.
  server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
    responses.add(res);
    res.on('close', closed);
    for (const listener of requestListeners) listener(req, res);
  });
  return {
    responses,
    // A scan, not a per-socket index: it runs only when Node refuses a request, and an index
    // would cost every request an entry.
    underWayOn(socket) {
      for (const res of responses) if (res.req.socket === socket && res.headersSent) return true;
      return false;
    },
    onRequest(listener) {
      requestListeners.push(listener);
    },
    onClose(listener) {
      closeListeners.push(listener);
    },
  };
}
