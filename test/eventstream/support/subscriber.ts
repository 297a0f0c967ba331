import type { components } from '../../../client/src/index.ts';
import type { TestApp } from '../../support/app.ts';
import { clientFor } from '../../support/client.ts';

type ActionLog = components['schemas']['ActionLog'];
export type StreamQuery = {
  actor_id?: string;
  resource_type?: 'user' | 'post';
  resource_id?: string;
  action?: ActionLog['action'];
};

export interface Subscriber {
  received: ActionLog[];
  /** Settles when the stream ends: with undefined when the server ended it cleanly. */
  ended: Promise<unknown>;
  close(): Promise<void>;
}

/** A typed-client stream consumer that keeps what it receives; it does not reconnect. */
export function subscribe(
  app: Pick<TestApp, 'baseUrl'>,
  query: StreamQuery,
  lastEventId?: string,
): Subscriber {
  const controller = new AbortController();
  const received: ActionLog[] = [];
  const events = clientFor(app).events('streamActions', {
    params: { query },
    lastEventId,
    reconnect: false,
    signal: controller.signal,
  });
  const ended = (async () => {
    for await (const event of events) received.push(event.data);
  })().then(
    () => undefined,
    (error: unknown) => error,
  );
  return {
    received,
    ended,
    async close() {
      controller.abort();
      await ended;
    },
  };
}
