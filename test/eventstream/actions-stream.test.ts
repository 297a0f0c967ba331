import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventStreamError } from '../../client/src/index.ts';
import type { components } from '../../client/src/index.ts';
import { toActionLog } from '../../src/modules/action-logs/action-logs.mapper.ts';
import { findActionLogPosition } from '../../src/modules/action-logs/action-logs.repository.ts';
import { MAX_AHEAD } from '../../src/modules/eventstream/eventstream.sequence.ts';
import { realtimeEventsSubject } from '../../src/shared/constants/jobs.ts';
import { recordAction } from '../../src/modules/action-logs/action-logs.recorder.ts';
import { newId } from '../../src/shared/db/ids.ts';
import {
  actionLogEntry,
  recordLog,
  recordLogs,
  writeUnannouncedLog,
} from '../action-logs/support/action-log-factory.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { clientFor, signedInClient } from '../support/client.ts';
import { createUser } from '../support/factories.ts';
import { startPrivateNats } from '../support/private-nats.ts';
import { eventually } from '../support/wait.ts';
import { subscribe } from './support/subscriber.ts';

const ids = (logs: { id: string }[]) => logs.map((log) => log.id);

// Two instances on the one NATS of the test stack, as two servers behind a load balancer.
let a: TestApp;
let b: TestApp;
beforeAll(async () => {
  [a, b] = await Promise.all([startTestApp({ eventStream: { keepAliveMs: 50 } }), startTestApp()]);
});
afterAll(async () => {
  await Promise.all([a.close(), b.close()]);
});

describe('GET /v0/eventstream/actions', () => {
  it('When a user logs in through instance B, then a client streaming from instance A receives the entry live', async () => {
    const { user, password } = await createUser(a.deps);
    // No Last-Event-ID: nothing is replayed, so whatever arrives came live through NATS.
    const stream = subscribe(a, { actor_id: user.id });

    // The stream may not be open yet when the first login happens; logins go on until one
    // arrives.
    await eventually(async () => {
      if (stream.received.length === 0) {
        await signedInClient(b, { email: user.email, password: password! });
      }
      return stream.received.length > 0;
    }, 15_000);
    await stream.close();

    expect(stream.received[0]).toMatchObject({
      action: 'auth:login',
      actor_id: user.id,
      resource_type: 'user',
      resource_id: user.id,
      summary: 'Logged in with a password',
    });
    expect(stream.received[0]!.actor_ip).toMatch(/127\.0\.0\.1/);
  });

  it('When a client reconnects with Last-Event-ID while entries keep being written, then it receives exactly the entries it missed and the new ones, in order, none twice', async () => {
    const resource = { resource_id: newId() };
    const [start] = await recordLogs(b.deps, 1, resource);
    const first = subscribe(a, resource, start!.id);
    const seen = await recordLogs(b.deps, 2, resource);
    await eventually(() => first.received.length === 2);
    await first.close();

    const missed = await recordLogs(b.deps, 3, resource);
    await recordLog(b.deps, { action: 'post:create' });
    const second = subscribe(a, resource, first.received.at(-1)!.id);
    // Written while the reconnect reads its replay, so some entries fall on the seam between
    // the table and the live feed.
    const during = await recordLogs(b.deps, 20, resource);
    const marker = await recordLog(b.deps, resource);
    await eventually(() => second.received.some((log) => log.id === marker.id), 10_000);
    await second.close();

    expect(ids(first.received)).toEqual(ids(seen));
    expect(ids(second.received)).toEqual(ids([...missed, ...during, marker]));
    expect(second.received[0]).toEqual(missed[0]);
  });

  /** Records an entry in a transaction left open: its id is taken now, its commit later. */
  async function recordUncommitted(resource: { resource_id: string }) {
    const trx = await b.deps.db.write.transaction();
    const log = await recordAction(
      b.deps,
      trx,
      actionLogEntry({ ...resource, summary: 'Committed late' }),
    );
    return { log, commit: () => trx.commit() };
  }

  /**
   * A client streaming a resource of its own that has got one entry, `got`, while another,
   * `late`, took its id first and has yet to commit.
   */
  async function lateBehindGot() {
    const resource = { resource_id: newId() };
    const [start] = await recordLogs(b.deps, 1, resource);
    const stream = subscribe(a, resource, start!.id);
    const late = await recordUncommitted(resource);
    const got = await recordLog(b.deps, resource);
    await eventually(() => stream.received.length === 1);
    expect(late.log.id < got.id).toBe(true);
    /** Reconnects after `lastEventId`; what arrives until a new entry does. */
    const resume = async (lastEventId: string) => {
      const resumed = subscribe(a, resource, lastEventId);
      const marker = await recordLog(b.deps, resource);
      await eventually(() => resumed.received.some((log) => log.id === marker.id));
      await resumed.close();
      return { received: ids(resumed.received), marker };
    };
    return { stream, late, got, resume };
  }

  it('When an entry that took its id first commits after one the client got, while the client is away, then its replay still sends it, once', async () => {
    const { stream, late, got, resume } = await lateBehindGot();
    await stream.close();
    await late.commit();

    const { received, marker } = await resume(got.id);

    expect(ids(stream.received)).toEqual([got.id]);
    expect(received).toEqual([late.log.id, marker.id]);
  });

  it('When an entry that took its id first commits after one the client got, then it arrives live after it, and a stream resumed from it sends neither again', async () => {
    const { stream, late, got, resume } = await lateBehindGot();
    await late.commit();
    await eventually(() => stream.received.length === 2);
    await stream.close();

    const { received, marker } = await resume(late.log.id);

    expect(ids(stream.received)).toEqual([got.id, late.log.id]);
    expect(received).toEqual([marker.id]);
  });

  it('When an announcement is lost, then the next one makes the instance read the entry it missed from the table, and its clients get both in order', async () => {
    const resource = { resource_id: newId() };
    const stream = subscribe(a, resource);
    // Entries until one arrives: then the stream is live, and what follows its last one can
    // only come through it.
    await eventually(async () => {
      if (stream.received.length === 0) await recordLog(b.deps, resource);
      return stream.received.length > 0;
    }, 15_000);
    const live = await recordLog(b.deps, resource);
    await eventually(() => stream.received.some((log) => log.id === live.id));
    // Written and committed, never announced: as when a publish is lost.
    const unannounced = await writeUnannouncedLog(b.deps.db.write, {
      ...resource,
      summary: 'Never announced',
    });
    const announced = await recordLog(b.deps, resource);
    await eventually(() => stream.received.some((log) => log.id === announced.id));
    await stream.close();

    const after = ids(stream.received).slice(ids(stream.received).indexOf(live.id) + 1);
    expect(after).toEqual([unannounced.id, announced.id]);
  });

  it('When an announcement comes further ahead of the next position than the instance reads, then its streams end, and the reconnecting client replays the entry', async () => {
    // A NATS of its own: the announcement would end the streams of every instance it reached.
    const nats = await startPrivateNats();
    const app = await startTestApp({ nats: { url: nats.url } });
    try {
      const resource = { resource_id: newId() };
      const [start] = await recordLogs(app.deps, 1, resource);
      const stream = subscribe(app, resource, start!.id);
      const before = await recordLog(app.deps, resource);
      await eventually(() => stream.received.length === 1);

      const far = await writeUnannouncedLog(app.deps.db.write, {
        ...resource,
        summary: 'Announced from far ahead',
      });
      const position = await findActionLogPosition(app.deps.db.write, far.id);
      app.deps.nats.publish(
        realtimeEventsSubject,
        JSON.stringify({
          ...toActionLog(far),
          position: String(position! + BigInt(MAX_AHEAD) + 1n),
        }),
      );

      expect(await stream.ended).toBeUndefined();
      const resumed = subscribe(app, resource, before.id);
      await eventually(() => resumed.received.length === 1);
      await resumed.close();
      expect(ids(stream.received)).toEqual([before.id]);
      expect(ids(resumed.received)).toEqual([far.id]);
    } finally {
      await app.close();
      await nats.destroy();
    }
  });

  it('When the entry named by Last-Event-ID is no longer stored, then the replay resumes after its neighbours and sends the entries after it', async () => {
    const resource = { resource_id: newId() };
    const [, gone, after] = await recordLogs(b.deps, 3, resource);
    await b.deps.db.write('action_logs').where({ id: gone!.id }).delete();

    const stream = subscribe(a, resource, gone!.id);
    const marker = await recordLog(b.deps, resource);
    await eventually(() => stream.received.some((log) => log.id === marker.id));
    await stream.close();

    expect(ids(stream.received)).toEqual([after!.id, marker.id]);
  });

  it('When a client missed more entries than one replay read holds, then it still receives every one of them once, in order', async () => {
    const resource = { resource_id: newId() };
    const [start] = await recordLogs(b.deps, 1, resource);
    const missed = await recordLogs(b.deps, 520, resource);

    const stream = subscribe(a, resource, start!.id);
    await eventually(() => stream.received.length >= missed.length, 20_000);
    const marker = await recordLog(b.deps, resource);
    await eventually(() => stream.received.at(-1)?.id === marker.id);
    await stream.close();

    expect(ids(stream.received)).toEqual(ids([...missed, marker]));
  });

  it('When filters are given, then the stream and its replay carry only entries matching all of them, as the list does', async () => {
    const { user } = await createUser(a.deps);
    const post = newId();
    const target = {
      actor_id: user.id,
      resource_type: 'post' as const,
      resource_id: post,
      action: 'post:delete' as const,
    };
    const [start] = await recordLogs(a.deps, 1, target);
    const stream = subscribe(a, target, start!.id);
    // Each differs from the filters in one field.
    await recordLog(b.deps, { ...target, actor_id: null });
    await recordLog(b.deps, { ...target, resource_type: 'user', resource_id: post });
    await recordLog(b.deps, { ...target, resource_id: newId() });
    await recordLog(b.deps, { ...target, action: 'post:edit' });
    const match = await recordLog(b.deps, target);
    await eventually(() => stream.received.length > 0);
    await stream.close();

    const replay = subscribe(a, target, start!.id);
    await eventually(() => replay.received.length > 0);
    await replay.close();

    expect(ids(stream.received)).toEqual([match.id]);
    expect(ids(replay.received)).toEqual([match.id]);
    await eventually(
      async () =>
        (await clientFor(a).GET('/v0/action-logs', { params: { query: target } })).data?.data[0]
          ?.id === match.id,
    );
    const { data } = await clientFor(a).GET('/v0/action-logs', { params: { query: target } });
    expect(ids(data!.data)).toEqual([match.id, start!.id]);
  });

  it('When a stream is idle, then a keep-alive comment arrives at the configured interval', async () => {
    const controller = new AbortController();
    const response = await fetch(`${a.baseUrl}/v0/eventstream/actions?resource_id=${newId()}`, {
      signal: controller.signal,
    });
    // A comment is invisible to the client's events(), so the body is read as it comes.
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (!text.includes(': keep-alive\n\n')) {
      const { value } = await reader.read();
      text += decoder.decode(value, { stream: true });
    }
    controller.abort();

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  it('When the server shuts its streams down, then each client sees its stream end cleanly', async () => {
    const app = await startTestApp();
    try {
      const resource = { resource_id: newId() };
      const [start] = await recordLogs(app.deps, 1, resource);
      const stream = subscribe(app, resource, start!.id);
      const log = await recordLog(app.deps, resource);
      await eventually(() => stream.received.length === 1);

      app.built.closeEventStreams();

      expect(await stream.ended).toBeUndefined();
      expect(ids(stream.received)).toEqual([log.id]);
    } finally {
      await app.close();
    }
  });

  it('When the instance loses NATS and gets it back, then its streams end and the reconnecting client replays what the outage hid', async () => {
    const nats = await startPrivateNats();
    const app = await startTestApp({ nats: { url: nats.url } });
    try {
      const resource = { resource_id: newId() };
      const [start] = await recordLogs(app.deps, 1, resource);
      const received: components['schemas']['ActionLog'][] = [];
      const controller = new AbortController();
      const events = clientFor(app).events('streamActions', {
        params: { query: resource },
        lastEventId: start!.id,
        retryMs: 50,
        signal: controller.signal,
      });
      const consuming = (async () => {
        for await (const event of events) received.push(event.data);
      })();
      const before = await recordLog(app.deps, resource);
      await eventually(() => received.length === 1);

      await nats.stop();
      // What another instance wrote while its publish was lost in the outage: only the row.
      const hidden = await writeUnannouncedLog(app.deps.db.write, {
        ...resource,
        summary: 'Edited a post during the outage',
      });
      await nats.start();
      await eventually(() => received.length === 2, 20_000);
      // The first announcement after the reconnect, which restarts the instance's sequence.
      const after = await recordLog(app.deps, resource);
      await eventually(() => received.length === 3);
      controller.abort();
      await consuming;

      expect(ids(received)).toEqual([before.id, hidden.id, after.id]);
    } finally {
      await app.close();
      await nats.destroy();
    }
  });

  it('When the instance has no NATS connection any more, then a new stream is refused with 503 system:dependency_unavailable', async () => {
    const app = await startTestApp();
    try {
      // As during shutdown: the connection is closed for good, so no live entry could come.
      await app.deps.nats.close();

      const failure: unknown = await clientFor(app)
        .events('streamActions')
        .next()
        .catch((error: unknown) => error);

      expect(failure).toBeInstanceOf(EventStreamError);
      const { response, error } = failure as EventStreamError<'streamActions'>;
      expect(response.status).toBe(503);
      expect(error.code).toBe('system:dependency_unavailable');
    } finally {
      await app.close();
    }
  });

  it.each([
    ['an unknown resource type', { query: { resource_type: 'comment' }, lastEventId: undefined }],
    ['an unknown action', { query: { action: 'post:explode' }, lastEventId: undefined }],
    ['an actor id that is not an id', { query: { actor_id: 'alice' }, lastEventId: undefined }],
    ['a Last-Event-ID that is not an id', { query: {}, lastEventId: 'yesterday' }],
  ])(
    'When the request has %s, then the stream is refused with 400 general:validation_error',
    async (_, input) => {
      const events = clientFor(a).events('streamActions', {
        params: { query: input.query as never },
        lastEventId: input.lastEventId,
      });

      const failure: unknown = await events.next().catch((error: unknown) => error);

      expect(failure).toBeInstanceOf(EventStreamError);
      const { response, error } = failure as EventStreamError<'streamActions'>;
      expect(response.status).toBe(400);
      expect(error.code).toBe('general:validation_error');
    },
  );
});
