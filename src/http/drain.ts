import type { Server, ServerResponse } from 'node:http';

export interface ConnectionDrain {
  /** From now on every response closes its connection once it is sent. */
  start(): void;
}

/**
 * server.close() only closes the sockets idle at that moment: a keep-alive socket busy with a
 * request stays open after its answer, up to the keep-alive timeout, and holds the shutdown
 * that long. While draining, each answer says `Connection: close` instead (so the client
 * knows not to reuse the socket, and Node closes it once sent), and a response whose headers
 * had already gone closes its socket when it ends.
 */
export function createConnectionDrain(server: Server): ConnectionDrain {
  const open = new Set<ServerResponse>();
  let draining = false;
  // Ahead of the app, so the header is set before any handler can answer.
  server.prependListener('request', (_req, res: ServerResponse) => {
    if (draining) res.setHeader('connection', 'close');
    open.add(res);
    res.once('close', () => open.delete(res));
  });
  return {
    start() {
      draining = true;
      for (const res of open) {
        if (!res.headersSent) res.setHeader('connection', 'close');
        else res.once('close', () => server.closeIdleConnections());
      }
      server.closeIdleConnections();
    },
  };
}
