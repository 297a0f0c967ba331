import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { components } from '../generated/openapi.ts';
import { errorStatuses, type ErrorCode } from '../shared/errors/codes.ts';

type ErrorBody = components['schemas']['Error'];

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
};

/** What Node's HTTP parser and timers report, as the catalogue names it. */
function refusalOf(code: string | undefined): { code: ErrorCode; details: string } {
  if (code === 'HPE_HEADER_OVERFLOW') {
    return { code: 'general:header_too_large', details: 'The request headers are too large' };
  }
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return {
      code: 'general:request_timeout',
      details: 'The request did not arrive in time',
    };
  }
  return { code: 'general:bad_request', details: 'The request is not valid HTTP' };
}

/**
 * Requests Node refuses before the app sees them (a head too large, headers or a body slower
 * than the server's timeouts, bytes that are not HTTP) get the catalogue's JSON error like
 * every other refusal, instead of Node's bare status line, and their connection is closed.
 */
export function answerClientErrors(server: Server): void {
  // The response each socket is on, to know whether one has begun (a body can time out after
  // the app has answered, an early 413 say).
  const responses = new WeakMap<Duplex, ServerResponse>();
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    responses.set(req.socket, res);
  });
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    // A client that went away, or a response already under way: nothing can be said anymore.
    const answerable =
      error.code !== 'ECONNRESET' && socket.writable && !responses.get(socket)?.headersSent;
    if (!answerable) {
      socket.destroy();
      return;
    }
    const { code, details } = refusalOf(error.code);
    const status = errorStatuses[code];
    const body: ErrorBody = { status, code, details };
    const json = JSON.stringify(body);
    socket.end(
      `HTTP/1.1 ${status} ${REASONS[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n\r\n${json}`,
      () => socket.destroy(),
    );
  });
}
