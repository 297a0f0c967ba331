import fetchCookie from 'fetch-cookie';
import createClient, { mergeHeaders } from 'openapi-fetch';
import type { Client, FetchResponse, HeadersOptions, ParamsOption } from 'openapi-fetch';
import { CookieJar } from 'tough-cookie';
import { EventStreamError, parseEventStream, pause } from './events.ts';
import type { EventStreamOperationId, ServerEvent, StreamState } from './events.ts';
import { eventStreamOperations, multipartOperations } from './generated/contract.ts';
import { toFormData } from './multipart.ts';
import type { MultipartBody, MultipartOperationId } from './multipart.ts';
import type { ApiError, ExpressKitPaths } from './typed-errors.ts';

export type { ErrorCodes, ErrorStatuses, EventStreamEvents } from './generated/contract.ts';
export type { components, operations, paths } from './generated/openapi.ts';
export { EventStreamError } from './events.ts';
export type { EventStreamOperationId, ServerEvent } from './events.ts';
export type { MultipartBody, MultipartOperationId } from './multipart.ts';
export type { ApiError, ErrorCode, ExpressKitPaths, OperationId } from './typed-errors.ts';
export { CookieJar };

export interface ExpressKitClientOptions {
  /** The API origin, e.g. `https://api.example.com` (no trailing `/v0`). */
  baseUrl: string;
  /** Defaults to the global fetch. */
  fetch?: (input: Request, init?: RequestInit) => Promise<Response>;
  /** Sent with every request. */
  headers?: HeadersOptions;
  /**
   * Outside a browser there is no cookie store, so a login's session cookie would be dropped.
   * `true` keeps cookies in a new jar; pass a jar to share or inspect it. Browsers keep the
   * session through `credentials: 'include'` and need no jar.
   */
  cookieJar?: boolean | CookieJar;
}

type Descriptor = { readonly method: string; readonly path: string };
type OperationOf<D extends Descriptor> = D['path'] extends keyof ExpressKitPaths
  ? D['method'] extends keyof ExpressKitPaths[D['path']]
    ? ExpressKitPaths[D['path']][D['method']]
    : never
  : never;

type UploadOperation<Id extends MultipartOperationId> = OperationOf<
  (typeof multipartOperations)[Id]
>;
type StreamOperation<Id extends EventStreamOperationId> = OperationOf<
  (typeof eventStreamOperations)[Id]
>;

/** openapi-fetch's default response parsing (JSON). */
type NoOptions = Record<never, never>;

type RequestExtras = { headers?: HeadersOptions; signal?: AbortSignal };
/** Makes the options argument optional exactly when nothing in it is required. */
type OptionalWhenEmpty<Options> =
  Partial<Options> extends Options ? [options?: Options] : [options: Options];

export type UploadOptions<Id extends MultipartOperationId> = ParamsOption<UploadOperation<Id>> &
  RequestExtras;

export type EventStreamOptions<Id extends EventStreamOperationId> = ParamsOption<
  StreamOperation<Id>
> &
  RequestExtras & {
    /** Resume after this event id: the server replays what came after it first. */
    lastEventId?: string;
    /**
     * Reconnect when an established stream ends or drops, sending the last event id, as
     * EventSource does (default true). A refused connection is never retried.
     */
    reconnect?: boolean;
    /** Wait before reconnecting, until the server sends `retry:` (default 3000 ms). */
    retryMs?: number;
  };

export interface ExpressKitClient extends Client<ExpressKitPaths> {
  /** Sends a multipart upload: Blob or File fields in, the operation's typed reply out. */
  upload<Id extends MultipartOperationId>(
    operationId: Id,
    body: MultipartBody<Id>,
    ...options: OptionalWhenEmpty<UploadOptions<Id>>
  ): Promise<FetchResponse<UploadOperation<Id>, NoOptions, `${string}/${string}`>>;
  /**
   * Subscribes to an event stream: an async iterator of typed events that resumes from the
   * last event id across reconnects. Leaving the loop (or aborting `signal`) closes it; a
   * refused connection throws an EventStreamError with the operation's typed error.
   */
  events<Id extends EventStreamOperationId>(
    operationId: Id,
    ...options: OptionalWhenEmpty<EventStreamOptions<Id>>
  ): AsyncGenerator<ServerEvent<Id>, void, undefined>;
  /** The jar holding the session cookie, when `cookieJar` was asked for. */
  readonly cookieJar: CookieJar | undefined;
}

/** The untyped shape of openapi-fetch's `request`, for helpers that pick the path at run time. */
type LooseRequest = (
  method: string,
  path: string,
  init: Record<string, unknown>,
) => Promise<{ data?: unknown; error?: unknown; response: Response }>;

type Fetch = NonNullable<ExpressKitClientOptions['fetch']>;

function withCookies(fetch: Fetch, jar: CookieJar): Fetch {
  // fetch-cookie follows redirects itself (redirect: 'manual' in its init), so the cookies a
  // redirect sets are kept too; the init must reach the underlying fetch.
  const cookieFetch = fetchCookie(fetch, jar);
  return (input, init) => cookieFetch(input, init);
}

export function createExpressKitClient(options: ExpressKitClientOptions): ExpressKitClient {
  const cookieJar = options.cookieJar === true ? new CookieJar() : options.cookieJar || undefined;
  const baseFetch: Fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const client = createClient<ExpressKitPaths>({
    baseUrl: options.baseUrl,
    headers: options.headers,
    fetch: cookieJar ? withCookies(baseFetch, cookieJar) : baseFetch,
    credentials: 'include',
  });
  const request = client.request as unknown as LooseRequest;

  function upload<Id extends MultipartOperationId>(
    operationId: Id,
    body: MultipartBody<Id>,
    ...[init]: OptionalWhenEmpty<UploadOptions<Id>>
  ) {
    const { method, path } = multipartOperations[operationId];
    return request(method, path, {
      ...init,
      body: toFormData(body),
      bodySerializer: (form: FormData) => form,
    }) as Promise<FetchResponse<UploadOperation<Id>, NoOptions, `${string}/${string}`>>;
  }

  async function* events<Id extends EventStreamOperationId>(
    operationId: Id,
    ...[init]: OptionalWhenEmpty<EventStreamOptions<Id>>
  ): AsyncGenerator<ServerEvent<Id>, void, undefined> {
    const { method, path, events: names } = eventStreamOperations[operationId];
    const { lastEventId, reconnect = true, retryMs = 3000, signal, headers, ...rest } = init ?? {};
    const known = new Set<string>(names);
    const state: StreamState = { lastEventId, retryMs };
    const closed = new AbortController();
    const until = signal ? AbortSignal.any([signal, closed.signal]) : closed.signal;
    let connected = false;
    try {
      while (!until.aborted) {
        try {
          const { data, error, response } = await request(method, path, {
            ...rest,
            headers: mergeHeaders(headers, {
              accept: 'text/event-stream',
              'last-event-id': state.lastEventId || undefined,
            }),
            parseAs: 'stream',
            signal: until,
          });
          if (!response.ok)
            throw new EventStreamError(operationId, error as ApiError<Id>, response);
          connected = true;
          for await (const raw of parseEventStream(
            data as ReadableStream<Uint8Array>,
            state,
            until,
          )) {
            // Event names the contract does not list yet are skipped, so a server that adds
            // one does not break older clients.
            if (!known.has(raw.event)) continue;
            yield {
              event: raw.event,
              data: JSON.parse(raw.data) as unknown,
              id: raw.id,
            } as ServerEvent<Id>;
          }
        } catch (failure) {
          if (until.aborted) return;
          // fetch reports a lost connection as a TypeError; that alone is worth a reconnect,
          // and only once the stream has been accepted, since a refusal would only repeat.
          if (!(failure instanceof TypeError) || !connected || !reconnect) throw failure;
        }
        if (!reconnect) return;
        await pause(state.retryMs, until);
      }
    } finally {
      closed.abort();
    }
  }

  return { ...client, cookieJar, upload, events };
}
