import type { EventStreamEvents, eventStreamOperations } from './generated/contract.ts';
import type { ApiError } from './typed-errors.ts';

export type EventStreamOperationId = keyof typeof eventStreamOperations;

/** One event of a stream: its name, its JSON data as the contract types it, and its id. */
export type ServerEvent<Id extends EventStreamOperationId> = {
  [Name in keyof EventStreamEvents[Id]]: {
    event: Name;
    data: EventStreamEvents[Id][Name];
    /** The last event id the server set (the `Last-Event-ID` a reconnect sends). */
    id: string | undefined;
  };
}[keyof EventStreamEvents[Id]];

/** The stream refused the connection with an error the contract lists for it. */
export class EventStreamError<Id extends EventStreamOperationId> extends Error {
  readonly operationId: Id;
  readonly error: ApiError<Id>;
  readonly response: Response;

  constructor(operationId: Id, error: ApiError<Id>, response: Response) {
    super(`${operationId} answered ${response.status} ${error.code}`);
    this.name = 'EventStreamError';
    this.operationId = operationId;
    this.error = error;
    this.response = response;
  }
}

/** What a stream remembers across reconnects, as EventSource does. */
export interface StreamState {
  lastEventId: string | undefined;
  retryMs: number;
}

export interface RawEvent {
  event: string;
  data: string;
  id: string | undefined;
}

/**
 * Parses a text/event-stream body as the HTML standard's EventSource does: `data` lines join
 * with newlines, `id` and `retry` update `state`, comments and empty events dispatch nothing.
 * Aborting `signal` ends the body at once: fetch's own abort of a body being read can be lost
 * once the request object behind it has been garbage-collected, which left a closed stream
 * waiting forever.
 */
export async function* parseEventStream(
  body: ReadableStream<Uint8Array>,
  state: StreamState,
  signal?: AbortSignal,
): AsyncGenerator<RawEvent> {
  const reader = body.getReader();
  const cancel = () => void reader.cancel().catch(() => undefined);
  signal?.addEventListener('abort', cancel, { once: true });
  const decoder = new TextDecoder();
  let buffer = '';
  let event = '';
  let data: string[] = [];
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      for (;;) {
        const end = /\r\n|\r|\n/.exec(buffer);
        // A CR at the end of a chunk may be the first half of a CRLF.
        if (!end || (end[0] === '\r' && end.index === buffer.length - 1)) break;
        const line = buffer.slice(0, end.index);
        buffer = buffer.slice(end.index + end[0].length);

        if (line === '') {
          if (data.length > 0) {
            yield { event: event || 'message', data: data.join('\n'), id: state.lastEventId };
          }
          event = '';
          data = [];
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        const raw = colon === -1 ? '' : line.slice(colon + 1);
        const fieldValue = raw.startsWith(' ') ? raw.slice(1) : raw;
        if (field === 'event') event = fieldValue;
        else if (field === 'data') data.push(fieldValue);
        else if (field === 'id' && !fieldValue.includes('\0')) state.lastEventId = fieldValue;
        else if (field === 'retry' && /^\d+$/.test(fieldValue)) state.retryMs = Number(fieldValue);
      }
    }
  } finally {
    signal?.removeEventListener('abort', cancel);
    await reader.cancel().catch(() => undefined);
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
