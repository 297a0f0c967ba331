import { randomBytes } from 'node:crypto';
import type { JetStreamManager } from 'nats';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ExpressKitClient } from '../../client/src/index.ts';
import { createBenchUser, type BenchUser } from '../../scripts/bench/bench-user.ts';
import { enqueueJob } from '../../src/bridge/outbox.ts';
import { closeNats, createNats, type NatsConnection } from '../../src/shared/clients/nats.ts';
import { jobStreams, type JobName } from '../../src/shared/constants/jobs.ts';
import { eventually } from '../support/wait.ts';
import { browser } from './support/browser.ts';
import { jobQueueState } from './support/jobs.ts';
import { readMetric } from './support/metrics.ts';
import {
  startAll,
  startServerProcess,
  startWorkerProcess,
  type KitProcess,
} from './support/processes.ts';
import { recordScenario } from './support/report.ts';
import { startSlowSmtp, type SlowSmtp } from './support/slow-smtp.ts';

/** Posts created through both servers at once, each enqueuing one index job. */
const POSTS = 200;
const POSTS_IN_FLIGHT = 20;
/** Email jobs per throughput measurement, and how long the SMTP peer takes over each. */
const EMAILS = 40;
const SMTP_DELAY_MS = 300;
const MIN_SPEED_UP = 1.6;

let smtp: SlowSmtp;
let servers: KitProcess[] = [];
let workers: KitProcess[] = [];
let user: BenchUser;
let nc: NatsConnection;
let jsm: JetStreamManager;

const workerEnv = () => ({ SMTP_HOST: '127.0.0.1', SMTP_PORT: String(smtp.port) });
const startWorker = (name: string) => startWorkerProcess({ name, env: workerEnv() });

beforeAll(async () => {
  smtp = await startSlowSmtp(() => SMTP_DELAY_MS);
  const kits = await startAll([
    ...['server-a', 'server-b'].map((name) =>
      startServerProcess({ name, env: { TRUST_PROXY: 'loopback' } }),
    ),
    ...['worker-a', 'worker-b'].map(startWorker),
  ]);
  servers = kits.slice(0, 2);
  workers = kits.slice(2);
  user = await createBenchUser(process.env, 'mpjobs', 'Multi Process Jobs');
  nc = await createNats(process.env.NATS_URL!, 'reliability-multi-process');
  jsm = await nc.jetstreamManager();
});

afterAll(async () => {
  await Promise.all([...servers, ...workers].map((kit) => kit.stop()));
  await closeNats(nc);
  await user?.remove();
  await smtp?.close();
});

const metricOf = (kits: KitProcess[], name: string, labels?: Record<string, string>) =>
  Promise.all(kits.map((kit) => readMetric(`${kit.url}/metrics`, name, labels)));
const delta = (after: number[], before: number[]) => after.map((value, i) => value - before[i]!);
const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);

const unsentOutboxRows = async () =>
  Number((await user.db.write('outbox').whereNull('sent_at').count({ n: '*' }))[0]!.n);

/** Until the outbox is relayed and the job's consumer has nothing left: jobs of earlier files included. */
async function settled(job: JobName, timeoutMs: number): Promise<void> {
  await eventually(
    async () =>
      (await unsentOutboxRows()) === 0 && (await jobQueueState(jsm, job)).unfinished === 0,
    timeoutMs,
  );
}

it('When posts are created through both servers at once, then the two relays publish every index job exactly once and the workers index every post', async () => {
  await settled('indexPost', 30_000);
  const author = browser(servers);
  const { response: login } = await author.on[0]!.POST('/v0/auth/login', {
    body: { ...user.credentials, remember_me: false },
  });
  expect(login.status).toBe(204);
  const consumer = { consumer: jobStreams.indexPost.durable };
  const [publishedBefore, processedBefore, stateBefore] = await Promise.all([
    metricOf(servers, 'outbox_published_total'),
    metricOf(workers, 'worker_jobs_processed_total', consumer),
    jobQueueState(jsm, 'indexPost'),
  ]);

  const statuses: number[] = [];
  const created: string[] = [];
  const createPost = async (via: ExpressKitClient, n: number) => {
    const { data, response } = await via.POST('/v0/posts', {
      body: { title: `Relay post ${n}`, content: `Enqueued through one of two servers, ${n}.` },
    });
    statuses.push(response.status);
    if (data) created.push(data.id);
  };
  let next = 0;
  // POSTS_IN_FLIGHT lanes, each alternating servers, keep both relays' transactions busy.
  await Promise.all(
    Array.from({ length: POSTS_IN_FLIGHT }, async (_, lane) => {
      while (next < POSTS) {
        const n = next++;
        await createPost(author.on[(n + lane) % 2]!, n);
      }
    }),
  );

  await settled('indexPost', 60_000);
  const processed = () => metricOf(workers, 'worker_jobs_processed_total', consumer);
  await eventually(async () => sum(delta(await processed(), processedBefore)) >= created.length);
  const [publishedAfter, processedAfter, stateAfter, failed] = await Promise.all([
    metricOf(servers, 'outbox_published_total'),
    processed(),
    jobQueueState(jsm, 'indexPost'),
    metricOf(workers, 'worker_jobs_failed_total', consumer),
  ]);
  const rows: { sent_at: Date | null }[] = await user.db
    .write('outbox')
    .where({ subject: jobStreams.indexPost.subject })
    .whereRaw("payload->>'post_id' = any(?)", [created])
    .select('sent_at');
  const indexed = Number(
    (await user.db.write('search_posts').whereIn('id', created).count({ n: '*' }))[0]!.n,
  );

  const published = delta(publishedAfter, publishedBefore);
  const handled = delta(processedAfter, processedBefore);
  const accepted = stateAfter.lastSequence - stateBefore.lastSequence;
  recordScenario({
    scenario: 'multi-process: outbox relays of two servers under concurrent enqueue',
    requests: statuses.length,
    faults: 'none',
    unexpected5xx: statuses.filter((status) => status >= 500).length,
    lost: POSTS - indexed,
    notes:
      `relays published ${published.join(' + ')}; JetStream accepted ${accepted}; ` +
      `workers handled ${handled.join(' + ')}; ${indexed} of ${POSTS} posts indexed`,
  });

  expect(statuses.filter((status) => status !== 201)).toEqual([]);
  expect(rows).toHaveLength(POSTS);
  expect(rows.filter((row) => row.sent_at === null)).toEqual([]);
  // Each relay counts the rows it marked sent: the sum is POSTS only if none was sent twice.
  expect(sum(published)).toBe(POSTS);
  expect(Math.min(...published)).toBeGreaterThan(0);
  expect(accepted).toBe(POSTS);
  expect(sum(handled)).toBe(POSTS);
  expect(sum(failed)).toBe(0);
  expect(indexed).toBe(POSTS);
});

const emailConsumer = { consumer: jobStreams.email.durable };

async function enqueueEmails(recipients: string[], run: string): Promise<void> {
  await user.db.write.transaction(async (trx) => {
    for (const to of recipients) {
      await enqueueJob(trx, 'email', {
        to,
        template: 'notice',
        vars: { title: 'Multi-process', message: `Throughput run ${run}` },
      });
    }
  });
}

/**
 * Sends notices until every running worker has handled one (which worker takes a job is
 * JetStream's choice), so no worker's first email (its SMTP pool, template, code paths) is in
 * a measurement.
 */
async function warmUp(run: string): Promise<void> {
  const before = await metricOf(workers, 'worker_jobs_processed_total', emailConsumer);
  let round = 0;
  await eventually(async () => {
    round += 1;
    const recipients = Array.from(
      { length: workers.length * jobStreams.email.concurrency },
      (_, i) => `mp-warm-${run}-${round}-${i}@multi-process.example`,
    );
    await enqueueEmails(recipients, `${run} warm-up`);
    await settled('email', 30_000);
    const handled = delta(
      await metricOf(workers, 'worker_jobs_processed_total', emailConsumer),
      before,
    );
    return Math.min(...handled) > 0;
  }, 60_000);
}

/**
 * Enqueues EMAILS notices through the outbox (the servers' relays publish them) and waits until
 * the SMTP peer has accepted every one. The rate is over the workers' part only: from the
 * first message's data reaching the SMTP peer (its answer less the peer's fixed delay) to the
 * last answer, so the enqueue transaction and the relay's delay are not in it.
 */
async function measureEmails(run: string) {
  const recipients = Array.from(
    { length: EMAILS },
    (_, i) => `mp-${run}-${i}@multi-process.example`,
  );
  const mine = () => smtp.answered.filter((answer) => recipients.includes(answer.to));
  const consumer = emailConsumer;
  const before = await metricOf(workers, 'worker_jobs_processed_total', consumer);
  const duplicatesBefore = await metricOf(workers, 'worker_jobs_duplicate_total', consumer);
  await enqueueEmails(recipients, run);
  await eventually(() => mine().length >= EMAILS, 60_000);
  const times = mine().map((answer) => answer.at);
  const seconds = (Math.max(...times) - (Math.min(...times) - SMTP_DELAY_MS)) / 1000;
  await settled('email', 30_000);
  const handled = delta(await metricOf(workers, 'worker_jobs_processed_total', consumer), before);
  const duplicates = delta(
    await metricOf(workers, 'worker_jobs_duplicate_total', consumer),
    duplicatesBefore,
  );
  const perRecipient = recipients.map((to) => mine().filter((answer) => answer.to === to).length);
  return { jobsPerSecond: EMAILS / seconds, handled, duplicates, perRecipient };
}

/**
 * Until the consumer has exactly one pull per slot of the running workers: every slot is
 * asking, and no pull of a stopped worker is left to take a message nobody will handle until
 * the ack wait. A stopped worker's pulls lapse after their expiry (5 s, consumer-loop.ts).
 */
async function pullingWorkers(count: number): Promise<void> {
  const pulls = count * jobStreams.email.concurrency;
  await eventually(async () => (await jobQueueState(jsm, 'email')).waitingPulls === pulls, 30_000);
}

it('When email jobs wait on a slow SMTP peer, then two workers sharing the durable handle each job once at ≥ 1.6× the rate of one', async () => {
  const run = randomBytes(4).toString('hex');
  await settled('email', 30_000);

  const [, second] = workers as [KitProcess, KitProcess];
  expect(await second.stop()).toEqual({ code: 0, signal: null });
  workers = workers.slice(0, 1);
  await warmUp(`${run}-one`);
  await pullingWorkers(1);
  const one = await measureEmails(`${run}-one`);

  workers = [...workers, await startWorker('worker-b')];
  await warmUp(`${run}-two`);
  await pullingWorkers(2);
  const two = await measureEmails(`${run}-two`);

  const ratio = two.jobsPerSecond / one.jobsPerSecond;
  const extra = (m: typeof one) => m.perRecipient.filter((n) => n > 1).length;
  const missing = (m: typeof one) => m.perRecipient.filter((n) => n === 0).length;
  recordScenario({
    scenario: 'multi-process: two workers share the durable consumers',
    requests: 2 * EMAILS,
    faults: 'none',
    unexpected5xx: 0,
    lost: missing(one) + missing(two),
    notes:
      `email jobs, SMTP answering after ${SMTP_DELAY_MS} ms, timed from the first message at ` +
      `the SMTP peer to the last answer, each worker warmed up: one worker ` +
      `${one.jobsPerSecond.toFixed(2)}/s, two ${two.jobsPerSecond.toFixed(2)}/s ` +
      `(×${ratio.toFixed(2)}; handled ${two.handled.join(' + ')}); sent twice: ${extra(one) + extra(two)}`,
  });

  for (const measured of [one, two]) {
    expect(measured.perRecipient).toEqual(Array.from({ length: EMAILS }, () => 1));
    expect(sum(measured.handled)).toBe(EMAILS);
    expect(sum(measured.duplicates)).toBe(0);
  }
  expect(Math.min(...two.handled)).toBeGreaterThan(0);
  expect(ratio).toBeGreaterThanOrEqual(MIN_SPEED_UP);
});
