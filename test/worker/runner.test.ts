import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AckPolicy, nanos } from 'nats';
import { deadLetterStream, jobStreams } from '../../src/shared/constants/jobs.ts';
import { redisKeys } from '../../src/shared/constants/redis-keys.ts';
import { ensureStreams } from '../../src/shared/jobs/streams.ts';
import { deadLetterHeaders } from '../../worker/dlq.ts';
import { defineConsumer, type ConsumerContext } from '../../worker/runner.ts';
import { MAX_WORKER_REPLICAS } from '../../worker/runner/durable.ts';
import {
  createRunnerHarness,
  eventually,
  sleep,
  type RunnerHarness,
} from './support/runner-harness.ts';

const deleteContent = jobStreams.deleteContent;
const contentPayload = { storage_keys: ['posts/some-post'] };

let harness: RunnerHarness;

beforeEach(async () => {
  harness = await createRunnerHarness();
});

afterEach(async () => {
  await harness.close();
});

/** A delete-content consumer whose handler is the test's, recording every delivery. */
function recordingConsumer(
  handle: (ctx: ConsumerContext, delivery: number) => Promise<void>,
  options: { inProgressIntervalMs?: number; timeoutMs?: number } = {},
) {
  const deliveries: { at: number; count: number }[] = [];
  const consumer = defineConsumer({
    job: 'deleteContent',
    ...options,
    async handle(_payload, ctx) {
      deliveries.push({ at: performance.now(), count: ctx.deliveryCount });
      await handle(ctx, deliveries.length);
    },
  });
  return { consumer, deliveries };
}

/**
 * A side-effecting reindex consumer whose every run counts its side effect, then waits for
 * `open()`; the test publishes reindexJob() to it.
 */
function gatedSideEffect(options: { inProgressIntervalMs?: number } = {}) {
  let sideEffects = 0;
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const consumer = defineConsumer({
    job: 'reindexUsers',
    sideEffects: true,
    ...options,
    async handle() {
      sideEffects += 1;
      await gate;
    },
  });
  return { consumer, open, sideEffects: () => sideEffects };
}

const reindexJob = () => ({ reindex_id: randomUUID(), after_id: null, batch_size: 10 });

describe('consumer runner', () => {
  it('When a handler fails twice then succeeds, then redeliveries follow the delay schedule and the job is acked once', async () => {
    const { consumer, deliveries } = recordingConsumer(async (_ctx, delivery) => {
      if (delivery <= 2) throw new Error(`transient failure ${delivery}`);
    });
    const runner = await harness.start([consumer], {
      retryDelaysMs: [100, 1000, 1000, 1000, 1000],
    });

    await harness.publish('deleteContent', contentPayload);
    await eventually('three deliveries', () => (deliveries.length === 3 ? true : undefined));
    await eventually('the acked job to leave the stream', async () =>
      (await harness.streamMessages('deleteContent')) === 0 ? true : undefined,
    );
    await sleep(300);

    const [first, second, third] = deliveries;
    const gaps = [second!.at - first!.at, third!.at - second!.at];
    expect(deliveries.map((d) => d.count)).toEqual([1, 2, 3]);
    // Upper bounds of five times each delay leave room for a loaded machine, and the two
    // ranges still do not meet: a schedule read at the wrong step fails one of them.
    expect(gaps[0]).toBeGreaterThanOrEqual(90);
    expect(gaps[0]).toBeLessThan(500);
    expect(gaps[1]).toBeGreaterThanOrEqual(990);
    expect(gaps[1]).toBeLessThan(5000);
    expect(await runner.metric('worker_jobs_failed_total', deleteContent.durable)).toBe(2);
    expect(await runner.metric('worker_jobs_processed_total', deleteContent.durable)).toBe(1);
    expect(await harness.deadLetters()).toEqual([]);
  });

  it('When two runners share the durable and the backlog is larger than both, then each runs its full concurrency at once and holds no more messages than it runs', async () => {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const first = recordingConsumer(() => gate);
    const second = recordingConsumer(() => gate);
    await harness.start([first.consumer]);
    await harness.start([second.consumer]);
    const jobs = deleteContent.concurrency * 3;
    for (let i = 0; i < jobs; i += 1) await harness.publish('deleteContent', contentPayload);

    await eventually('both runners at their full concurrency', () =>
      first.deliveries.length === deleteContent.concurrency &&
      second.deliveries.length === deleteContent.concurrency
        ? true
        : undefined,
    );
    const info = await harness.jsm.consumers.info(deleteContent.stream, deleteContent.durable);
    // Only the messages being handled are out; the rest wait on the stream for a free slot.
    expect(info.num_ack_pending).toBe(2 * deleteContent.concurrency);
    expect(info.num_pending).toBe(jobs - 2 * deleteContent.concurrency);

    open();
    await eventually('every job acked', async () =>
      (await harness.streamMessages('deleteContent')) === 0 ? true : undefined,
    );
    expect(first.deliveries.length + second.deliveries.length).toBe(jobs);
  });

  it('When every job fails, then each slot waits out its retry delay before it pulls another: the backlog is not run through the retry schedule', async () => {
    const { consumer, deliveries } = recordingConsumer(async () => {
      throw new Error('dependency down');
    });
    await harness.start([consumer], { retryDelaysMs: [3000, 3000, 3000, 3000, 3000] });
    const jobs = deleteContent.concurrency * 4;
    for (let i = 0; i < jobs; i += 1) await harness.publish('deleteContent', contentPayload);

    await eventually('each slot to fail once', () =>
      deliveries.length >= deleteContent.concurrency ? true : undefined,
    );
    // Without the pause the slots would fail the whole backlog within milliseconds; 500 ms is
    // far inside the 3 s delay, so nothing can legitimately arrive in it.
    await sleep(500);
    const info = await harness.jsm.consumers.info(deleteContent.stream, deleteContent.durable);
    expect(deliveries).toHaveLength(deleteContent.concurrency);
    expect(info.num_ack_pending).toBe(deleteContent.concurrency);
    expect(info.num_pending).toBe(jobs - deleteContent.concurrency);
  });

  it('When a handler always fails, then the 6th failed delivery moves the job to the DLQ with its reason and origin, and off its stream', async () => {
    const { consumer, deliveries } = recordingConsumer(async () => {
      throw new Error('smtp unreachable\nsecond line of the message');
    });
    const runner = await harness.start([consumer], { retryDelaysMs: [20, 20, 20, 20, 20] });

    const msgId = await harness.publish('deleteContent', contentPayload);
    const [letter] = await eventually('a dead letter', async () => {
      const letters = await harness.deadLetters();
      return letters.length > 0 ? letters : undefined;
    });

    expect(deliveries.map((d) => d.count)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(letter).toMatchObject({
      originStream: deleteContent.stream,
      originSubject: deleteContent.subject,
      consumer: deleteContent.durable,
      deliveryCount: 6,
      originMessageId: msgId,
      originSequence: 1,
    });
    expect(letter?.reason).toContain('smtp unreachable second line');
    const stored = await harness.jsm.streams.getMessage('axumkit_jobs_dlq', { seq: letter!.seq });
    expect(stored.subject).toBe('axumkit.dlq.storage.delete_content');
    expect(stored.json()).toEqual(contentPayload);
    expect(stored.header.get(deadLetterHeaders.reason)).not.toMatch(/[\r\n]/);
    await eventually('the job to leave its stream', async () =>
      (await harness.streamMessages('deleteContent')) === 0 ? true : undefined,
    );
    expect(await runner.metric('worker_jobs_dead_lettered_total', deleteContent.durable)).toBe(1);
  });

  it('When a payload fails its schema or is not JSON, then it is dead-lettered on its first delivery without running the handler', async () => {
    const { consumer, deliveries } = recordingConsumer(async () => undefined);
    await harness.start([consumer]);

    await harness.publish('deleteContent', { storage_keys: [] });
    await harness.publish('deleteContent', 'not json at all');
    const letters = await eventually('two dead letters', async () => {
      const found = await harness.deadLetters();
      return found.length === 2 ? found : undefined;
    });

    expect(deliveries).toEqual([]);
    expect(letters.map((l) => l.deliveryCount)).toEqual([1, 1]);
    expect(letters[0]?.reason).toMatch(/invalid deleteContent payload: storage_keys/);
    expect(letters[1]?.reason).toBe('payload is not valid JSON');
  });

  it('When a handler runs longer than the ack wait, then its in-progress acks keep it from being redelivered', async () => {
    // An in-progress ack every tenth of the ack wait, so a stall of most of it is survived.
    const { consumer, deliveries } = recordingConsumer(() => sleep(2500), {
      inProgressIntervalMs: 100,
    });
    await harness.start([consumer], { ackWaitMs: 1000 });

    await harness.publish('deleteContent', contentPayload);
    await eventually('the job to be acked', async () =>
      deliveries.length > 0 && (await harness.streamMessages('deleteContent')) === 0
        ? true
        : undefined,
    );
    await sleep(1300);

    expect(deliveries.map((d) => d.count)).toEqual([1]);
  });

  it('When a side-effecting job is redelivered after its side effect ran, then the side effect is not repeated', async () => {
    const { consumer, open, sideEffects } = gatedSideEffect();
    // A worker that stops before its job ends leaves it unacked: its side effect then finishes
    // with no ack to follow, as when an ack is lost, and the job is delivered again elsewhere.
    const stalled = await harness.start([consumer], { ackWaitMs: 1000, shutdownTimeoutMs: 100 });
    const messageId = await harness.publish('reindexUsers', reindexJob());
    await eventually('the first run', () => (sideEffects() === 1 ? true : undefined));
    await stalled.stop();
    open();
    await eventually('the side effect to be recorded as done', async () =>
      (await harness.redis.exists(redisKeys.jobDedup(messageId))) === 1 ? true : undefined,
    );

    const runner = await harness.start([consumer], { ackWaitMs: 1000 });
    const durable = jobStreams.reindexUsers.durable;
    await eventually('the redelivery to be handled as a duplicate', async () =>
      (await runner.metric('worker_jobs_duplicate_total', durable)) === 1 ? true : undefined,
    );
    await eventually('the job to be acked', async () =>
      (await harness.streamMessages('reindexUsers')) === 0 ? true : undefined,
    );

    expect(sideEffects()).toBe(1);
    expect(await runner.metric('worker_jobs_processed_total', durable)).toBe(0);
  });

  it('When a side-effecting job is redelivered while its first run is still going, then the side effect is not run twice', async () => {
    // In-progress acks rarer than the ack wait stand for ones that do not get through (a
    // stalled connection): JetStream redelivers the job while its first run goes on.
    const { consumer, open, sideEffects } = gatedSideEffect({ inProgressIntervalMs: 60_000 });
    const settings = { ackWaitMs: 1000 };
    const first = await harness.start([consumer], settings);
    const second = await harness.start([consumer], settings);
    await harness.publish('reindexUsers', reindexJob());
    const durable = jobStreams.reindexUsers.durable;
    const duplicates = async () =>
      (await first.metric('worker_jobs_duplicate_total', durable)) +
      (await second.metric('worker_jobs_duplicate_total', durable));

    await eventually('the first run', () => (sideEffects() === 1 ? true : undefined));
    await eventually('a redelivery during the run, refused', async () =>
      (await duplicates()) >= 1 ? true : undefined,
    );
    expect(sideEffects()).toBe(1);

    open();
    await eventually('the job to be acked', async () =>
      (await harness.streamMessages('reindexUsers')) === 0 ? true : undefined,
    );
    expect(sideEffects()).toBe(1);
    expect(
      (await first.metric('worker_jobs_processed_total', durable)) +
        (await second.metric('worker_jobs_processed_total', durable)),
    ).toBe(1);
  });

  it('When stop is called during a job, then the job completes and is acked before stop returns', async () => {
    let finished = false;
    const { consumer, deliveries } = recordingConsumer(async () => {
      await sleep(500);
      finished = true;
    });
    const runner = await harness.start([consumer]);

    await harness.publish('deleteContent', contentPayload);
    await eventually('the job to start', () => (deliveries.length === 1 ? true : undefined));
    await runner.close();

    expect(finished).toBe(true);
    expect(await harness.streamMessages('deleteContent')).toBe(0);
  });

  it('When a job outlasts the shutdown timeout, then stop returns without acking it and the next runner gets it', async () => {
    const first = recordingConsumer(
      (ctx) =>
        new Promise((_resolve, reject) => {
          ctx.signal.addEventListener('abort', () => reject(new Error('shut down')));
        }),
    );
    const runner = await harness.start([first.consumer], {
      ackWaitMs: 1000,
      shutdownTimeoutMs: 200,
    });
    await harness.publish('deleteContent', contentPayload);
    await eventually('the job to start', () => (first.deliveries.length === 1 ? true : undefined));

    const stopping = performance.now();
    await runner.close();
    expect(performance.now() - stopping).toBeLessThan(2000);
    expect(await harness.streamMessages('deleteContent')).toBe(1);

    const second = recordingConsumer(async () => undefined);
    await harness.start([second.consumer], { ackWaitMs: 1000 });
    await eventually('the job to be acked by the next runner', async () =>
      (await harness.streamMessages('deleteContent')) === 0 ? true : undefined,
    );
    expect(second.deliveries.map((d) => d.count)).toEqual([2]);
    expect(await harness.deadLetters()).toEqual([]);
  });

  it('When the durable consumer is deleted under a running loop, then the loop recreates it and keeps consuming', async () => {
    const { consumer, deliveries } = recordingConsumer(async () => undefined);
    await harness.start([consumer]);
    await harness.publish('deleteContent', contentPayload);
    await eventually('the first job', () => (deliveries.length === 1 ? true : undefined));

    await harness.jsm.consumers.delete(deleteContent.stream, deleteContent.durable);
    await harness.publish('deleteContent', contentPayload);

    await eventually('the job published after the deletion', () =>
      deliveries.length === 2 ? true : undefined,
    );
    const info = await harness.jsm.consumers.info(deleteContent.stream, deleteContent.durable);
    expect(info.config).toMatchObject({
      ack_policy: 'explicit',
      max_ack_pending: deleteContent.concurrency * MAX_WORKER_REPLICAS,
      max_deliver: -1,
    });
    expect(info.config.backoff).toBeUndefined();
  });

  it('When a handler hangs past its timeout, then its delivery fails, its signal is aborted, and the retry runs and is acked', async () => {
    const signals: AbortSignal[] = [];
    const { consumer, deliveries } = recordingConsumer(
      (ctx, delivery) => {
        signals.push(ctx.signal);
        return delivery === 1 ? new Promise<void>(() => {}) : Promise.resolve();
      },
      { timeoutMs: 300 },
    );
    // In-progress acks keep the hung delivery alive on the server: only the timeout ends it.
    const runner = await harness.start([consumer], {
      ackWaitMs: 30_000,
      inProgressIntervalMs: 50,
      retryDelaysMs: [50, 50, 50, 50, 50],
    });

    await harness.publish('deleteContent', contentPayload);
    await eventually('the acked retry to leave the stream', async () =>
      deliveries.length === 2 && (await harness.streamMessages('deleteContent')) === 0
        ? true
        : undefined,
    );

    expect(deliveries.map((d) => d.count)).toEqual([1, 2]);
    expect(signals.map((signal) => signal.aborted)).toEqual([true, false]);
    expect(await runner.metric('worker_jobs_failed_total', deleteContent.durable)).toBe(1);
    expect(await runner.metric('worker_jobs_processed_total', deleteContent.durable)).toBe(1);
  });

  it('When a handler throws before returning a promise, then the delivery goes down the retry path like a rejection', async () => {
    const { consumer, deliveries } = recordingConsumer(async () => undefined);
    const throwing = {
      ...consumer,
      prepare: () => () => {
        deliveries.push({ at: performance.now(), count: deliveries.length + 1 });
        if (deliveries.length === 1) throw new Error('thrown, not rejected');
        return Promise.resolve();
      },
    };
    const runner = await harness.start([throwing], { retryDelaysMs: [50, 50, 50, 50, 50] });

    await harness.publish('deleteContent', contentPayload);
    await eventually('the acked retry to leave the stream', async () =>
      deliveries.length === 2 && (await harness.streamMessages('deleteContent')) === 0
        ? true
        : undefined,
    );

    expect(await runner.metric('worker_jobs_failed_total', deleteContent.durable)).toBe(1);
    expect(await harness.deadLetters()).toEqual([]);
  });

  it('When an existing durable has other settings, then starting the runner brings its ack wait and concurrency up to date', async () => {
    await harness.jsm.consumers.add(deleteContent.stream, {
      durable_name: deleteContent.durable,
      filter_subject: deleteContent.subject,
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(5000),
      max_ack_pending: 1,
    });
    const { consumer } = recordingConsumer(async () => undefined);
    await harness.start([consumer], { ackWaitMs: 12_000 });

    // The consumer loop brings its durable up to date as it starts, after start() returns.
    const info = await eventually('the durable to be updated', async () => {
      const current = await harness.jsm.consumers.info(deleteContent.stream, deleteContent.durable);
      return current.config.ack_wait === nanos(12_000) ? current : undefined;
    });
    expect(info.config.ack_wait).toBe(nanos(12_000));
    expect(info.config.max_ack_pending).toBe(deleteContent.concurrency * MAX_WORKER_REPLICAS);
  });

  it('When the dead-letter stream cannot take the copy, then the job stays on its stream and is dead-lettered once the stream is back', async () => {
    const { consumer, deliveries } = recordingConsumer(async () => {
      throw new Error('always fails');
    });
    await harness.jsm.streams.delete(deadLetterStream.stream);
    await harness.start([consumer], { retryDelaysMs: [20, 20, 20, 20, 100] });

    await harness.publish('deleteContent', contentPayload);
    // Past the last failed delivery the copy is refused: nothing may be acked then.
    await eventually('a delivery past the last retry', () =>
      deliveries.length >= 7 ? true : undefined,
    );
    expect(await harness.streamMessages('deleteContent')).toBe(1);

    await ensureStreams(harness.jsm);
    const letters = await eventually('the dead letter', async () => {
      const found = await harness.deadLetters();
      return found.length > 0 ? found : undefined;
    });
    await eventually('the job to leave its stream', async () =>
      (await harness.streamMessages('deleteContent')) === 0 ? true : undefined,
    );
    expect(letters).toHaveLength(1);
    expect(letters[0]?.reason).toContain('always fails');
  });
});
