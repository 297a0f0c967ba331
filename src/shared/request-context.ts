import { AsyncLocalStorage } from 'node:async_hooks';

export interface RequestContext {
  requestId: string;
  userId?: string;
}

/** Carries the request id (and the user once known) to every log line of a request. */
export const requestContext = new AsyncLocalStorage<RequestContext>();
