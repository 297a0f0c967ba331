import { STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { components } from '../generated/openapi.ts';
import { errorStatuses, type ErrorCode } from '../shared/errors/codes.ts';

type ErrorBody = components['schemas']['Error'];

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
  // Responses begun on each socket and not yet finished: while one is, on a kept-alive or a
  // pipelining socket alike, no error can be written without landing inside its bytes.
  const unfinished = new WeakMap<Duplex, number>();
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    unfinished.set(socket, (unfinished.get(socket) ?? 0) + 1);
    res.once('close', () => unfinished.set(socket, (unfinished.get(socket) ?? 1) - 1));
  });
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    // A client that went away, or a response under way: nothing can be said anymore.
    const answerable =
      error.code !== 'ECONNRESET' && socket.writable && !(unfinished.get(socket) ?? 0);
    if (!answerable) {
      socket.destroy();
      return;
    }
    const { code, details } = refusalOf(error.code);
    const status = errorStatuses[code];
    const body: ErrorBody = { status, code, details };
    const json = JSON.stringify(body);
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n\r\n${json}`,
      () => socket.destroy(),
    );
  });
}
