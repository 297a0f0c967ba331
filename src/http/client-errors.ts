import { STATUS_CODES, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { components } from '../generated/openapi.ts';
import { errorStatuses, type ErrorCode } from '../shared/errors/codes.ts';
import type { InFlightResponses } from './in-flight.ts';

type ErrorBody = components['schemas']['Error'];

/** What Node's HTTP parser and timers report, as the catalogue names it. */
function refusalOf(code: string | undefined): { code: ErrorCode; details: string } {
  if (code === 'HPE_HEADER_OVERFLOW') {
    return { code: 'general:header_too_large', details: 'The request headers are too large' };
  }
  // Chunk extensions past Node's bound (a way to make the server buffer without sending a
  // body byte) are refused like a body too large, as Node itself answers them.
  if (code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW') {
    return { code: 'general:payload_too_large', details: 'The chunk extensions are too large' };
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
export function answerClientErrors(server: Server, inFlight: InFlightResponses): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    // A client that went away, or a response under way (its head sent, its body not done: a
    // body that timed out after the app answered, say): nothing can be said anymore. A
    // finished response does not count: on a kept-alive socket the last request's answer is
    // long gone when the next request is refused.
    const answerable =
      error.code !== 'ECONNRESET' && socket.writable && !inFlight.underWayOn(socket);
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
