import type { Request, Response } from 'express';
import type { Logger } from '../shared/logger.ts';

export interface EventStreamOptions {
  /** How often a comment keeps idle proxies and load balancers from closing the stream. */
  keepAliveMs: number;
  /**
   * The most a client's unsent frames may hold in this process. A client that reads slower
   * than its events arrive reaches it and is disconnected, so it can never grow memory.
   */
  maxBufferedBytes: number;
  logger: Logger;
}

/** One client's text/event-stream response. */
export interface EventStreamConnection {
  /** Writes one frame; false once the client is gone or has just been dropped. */
  send(event: string, id: string, data: unknown): boolean;
  /** Disconnects a client that cannot keep up. */
  drop(reason: string): void;
  /** Ends the stream cleanly; the client reconnects with its Last-Event-ID. */
  end(): void;
}

/**
 * Serves text/event-stream responses and keeps track of them, so shutdown can end each one
 * cleanly: a client then sees the stream end and reconnects (with Last-Event-ID) elsewhere.
 */
export function createEventStreams(options: EventStreamOptions) {
  /** Each open stream and how to end it. */
  const open = new Map<Response, () => void>();
  let closing = false;

  return {
    /**
     * Streams to one client. `subscribe` gets the connection and returns how to stop. Until it
     * has sent anything a failure is an ordinary error response; after that it ends the
     * stream, and the client's reconnect replays what it missed.
     */
    async serve(
      req: Request,
      res: Response,
      subscribe: (connection: EventStreamConnection) => Promise<{ close(): void }>,
    ): Promise<void> {
      let gone = false;
      let stop = () => {};
      let keepAlive: NodeJS.Timeout | undefined;

      const start = () => {
        if (res.headersSent) return;
        res.writeHead(200, {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-store',
          // Proxies such as nginx would otherwise hold frames back.
          'x-accel-buffering': 'no',
          // A stream holds its connection to the end; left open for keep-alive once the server
          // ends it, the socket would keep a shutting-down server waiting for its idle timeout.
          connection: 'close',
        });
        res.flushHeaders();
        keepAlive = setInterval(() => write(': keep-alive\n\n'), options.keepAliveMs);
      };
      const drop = (reason: string) => {
        if (gone) return;
        gone = true;
        options.logger.warn('event stream client dropped', { reason, request_id: req.requestId });
        res.destroy();
      };
      const write = (chunk: string): boolean => {
        if (gone) return false;
        start();
        res.write(chunk);
        if (res.writableLength <= options.maxBufferedBytes) return true;
        drop('cannot keep up');
        return false;
      };

      const end = () => {
        if (gone) return;
        gone = true;
        clearInterval(keepAlive);
        res.end();
      };
      // A stream that arrives while the server shuts down ends as the open ones did, as an
      // event stream, so its client reconnects to another instance at once.
      if (closing) {
        start();
        end();
        return;
      }
      open.set(res, end);
      res.once('close', () => {
        gone = true;
        clearInterval(keepAlive);
        open.delete(res);
        stop();
      });

      try {
        const subscription = await subscribe({
          send: (event, id, data) =>
            write(`event: ${event}\nid: ${id}\ndata: ${JSON.stringify(data)}\n\n`),
          drop,
          end,
        });
        stop = () => subscription.close();
      } catch (error) {
        if (!res.headersSent) throw error;
        options.logger.warn('event stream failed', {
          error: String(error),
          request_id: req.requestId,
        });
        end();
        return;
      }
      if (gone) return stop();
      start();
    },

    /** Ends every open stream, and each one opened after; shutdown calls it before draining. */
    closeAll(): void {
      closing = true;
      for (const end of open.values()) end();
    },
  };
}

export type EventStreams = ReturnType<typeof createEventStreams>;
