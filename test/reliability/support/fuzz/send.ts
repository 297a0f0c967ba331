import { Agent, request, type ClientRequest } from 'node:http';
import type { FuzzRequest } from './request.ts';

export interface FuzzAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The body; empty for an event stream. */
  body: Buffer;
}

/** Longer than any answer of a healthy server; an answer that never comes is a failure. */
const ANSWER_TIMEOUT_MS = 60_000;
/** Far over any answer the contract declares: one this long is a runaway, not an answer. */
const MAX_BODY_BYTES = 4 * 1024 * 1024;
const CHUNK_BYTES = 64 * 1024;

/**
 * Writes a large body a chunk at a time as the socket drains, and stops once the answer is
 * in, as a client does that reads its answer while it sends.
 */
async function writeBody(
  outgoing: ClientRequest,
  body: Buffer | undefined,
  answered: () => boolean,
) {
  if (!body || body.length <= CHUNK_BYTES) {
    outgoing.end(body);
    return;
  }
  for (let offset = 0; offset < body.length; offset += CHUNK_BYTES) {
    if (answered() || outgoing.destroyed) return;
    if (!outgoing.write(body.subarray(offset, offset + CHUNK_BYTES))) {
      await new Promise<void>((resolve) => {
        const done = () => {
          outgoing.off('drain', done);
          outgoing.off('close', done);
          resolve();
        };
        outgoing.once('drain', done);
        outgoing.once('close', done);
      });
    }
  }
  outgoing.end();
}

/**
 * Sends the request as given, byte for byte (node:http, not fetch: fetch normalises the URL
 * and refuses some of what the fuzzer must send). An event stream is closed once its status
 * and headers are in.
 */
export function createSender(baseUrl: string) {
  const url = new URL(baseUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  const send = (fuzz: FuzzRequest): Promise<FuzzAnswer> =>
    new Promise((resolve, reject) => {
      let answered = false;
      const headers: Record<string, string> = { ...fuzz.headers };
      if (fuzz.body) headers['content-length'] = String(fuzz.body.length);
      const outgoing = request(
        {
          host: url.hostname,
          port: url.port,
          method: fuzz.method,
          path: fuzz.target,
          headers,
          agent,
          timeout: ANSWER_TIMEOUT_MS,
        },
        (response) => {
          answered = true;
          const chunks: Buffer[] = [];
          let size = 0;
          const done = () =>
            resolve({
              status: response.statusCode!,
              headers: response.headers,
              body: Buffer.concat(chunks),
            });
          // A stream stays open: its status and headers are the answer.
          if (String(response.headers['content-type'] ?? '').startsWith('text/event-stream')) {
            done();
            response.destroy();
            return;
          }
          response.on('data', (chunk: Buffer) => {
            chunks.push(chunk);
            size += chunk.length;
            if (size > MAX_BODY_BYTES) {
              reject(new Error(`answer over ${MAX_BODY_BYTES} bytes`));
              response.destroy();
            }
          });
          // An answer cut off inside its body is no answer: judged, it could pass as a short one.
          response.on('end', () =>
            response.complete ? done() : reject(new Error(`answer cut off after ${size} bytes`)),
          );
          response.on('error', (error) =>
            reject(new Error(`answer cut off after ${size} bytes: ${error.message}`)),
          );
          response.on('close', () => {
            if (!response.complete) reject(new Error(`answer cut off after ${size} bytes`));
          });
        },
      );
      outgoing.on('timeout', () =>
        outgoing.destroy(new Error(`no answer in ${ANSWER_TIMEOUT_MS} ms`)),
      );
      // The server may refuse a body it has not read (over a limit) and close the connection:
      // once its answer is in, writing the rest fails, and that failure is no news.
      outgoing.on('error', (error) => {
        if (!answered) reject(error);
      });
      void writeBody(outgoing, fuzz.body, () => answered);
    });
  return { send, close: () => agent.destroy() };
}
