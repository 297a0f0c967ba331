import type { components } from '../../../client/src/index.ts';
import { loadContract } from '../../../src/http/contract.ts';
import type { TestApp } from '../../support/app.ts';
import { clientFor } from '../../support/client.ts';
import { createSchemaCheck } from '../../support/contract-schema-check.ts';

type ActionLog = components['schemas']['ActionLog'];

// What the contract says each frame's data is (`x-events` of the stream's response).
const ACTION_LOG = { $ref: '#/components/schemas/ActionLog' };
const schemaCheck = createSchemaCheck(loadContract());
export type StreamQuery = {
  actor_id?: string;
  resource_type?: 'user' | 'post';
  resource_id?: string;
  action?: ActionLog['action'];
};

export interface Subscriber {
  received: ActionLog[];
  /**
   * Settles when the stream ends: with undefined when the server ended it cleanly and every
   * frame was an ActionLog.
   */
  ended: Promise<unknown>;
  close(): Promise<void>;
}

/**
 * A typed-client stream consumer that keeps what it receives; it does not reconnect. Every
 * frame is checked against the contract's ActionLog: if one was not one, `close` fails and a
 * stream the server ended cleanly settles `ended` with that error.
 */
export function subscribe(
  app: Pick<TestApp, 'baseUrl'>,
  query: StreamQuery,
  lastEventId?: string,
): Subscriber {
  const controller = new AbortController();
  const received: ActionLog[] = [];
  const outsideContract: string[] = [];
  const frameErrors = () =>
    new Error(`frames outside the contract's ActionLog:\n${outsideContract.join('\n')}`);
  const events = clientFor(app).events('streamActions', {
    params: { query },
    lastEventId,
    reconnect: false,
    signal: controller.signal,
  });
  const ended = (async () => {
    for await (const event of events) {
      const errors = schemaCheck.errors(ACTION_LOG, event.data).join(', ');
      if (errors) outsideContract.push(`${JSON.stringify(event.data)}: ${errors}`);
      received.push(event.data);
    }
  })().then(
    () => (outsideContract.length > 0 ? frameErrors() : undefined),
    (error: unknown) => error,
  );
  return {
    received,
    ended,
    async close() {
      controller.abort();
      await ended;
      if (outsideContract.length > 0) throw frameErrors();
    },
  };
}
