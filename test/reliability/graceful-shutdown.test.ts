import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBenchUser, type BenchUser } from '../../scripts/bench/bench-user.ts';
import { signIn } from '../support/factories.ts';
import { eventually, sleep } from '../support/wait.ts';
import { startServerProcess, startWorkerProcess, type KitProcess } from './support/processes.ts';
import { waitForJobQueuesDrained } from './support/jobs.ts';
import { recordScenario } from './support/report.ts';
import { startSlowSmtp, type SlowSmtp } from './support/slow-smtp.ts';
import { clientAddress } from './support/client-address.ts';

const SHUTDOWN_TIMEOUT_SECS = 10;
const WORKER_SHUTDOWN_TIMEOUT_SECS = 3;
/** JetStream redelivers an unacked job after the consumers' ack wait (worker/runner.ts). */
const ACK_WAIT_MS = 30_000;
/** What a loaded machine may add to an exit on top of its configured bound. */
const EXIT_SLACK_MS = 5000;

const serverEnv = {
  TRUST_PROXY: 'loopback',
  SHUTDOWN_TIMEOUT_SECS: String(SHUTDOWN_TIMEOUT_SECS),
};

let victim: KitProcess;
let survivor: KitProcess;
let workerA: KitProcess;
let smtp: SlowSmtp;
let author: BenchUser;
let workerEnv: Record<string, string>;
let workerB: KitProcess | undefined;
const started: KitProcess[] = [];

const finishingTo = `finishes-${randomBytes(4).toString('hex')}@graceful.example`;
const stuckTo = `stuck-${randomBytes(4).toString('hex')}@graceful.example`;

beforeAll(async () => {
  // The finishing mail is answered when the test says, inside the worker's shutdown bound; the
  // stuck mail's first attempt is never answered, its redelivery at once.
  smtp = await startSlowSmtp((to, attempt) => {
    if (to === finishingTo) return 'until-released';
    if (to === stuckTo && attempt === 1) return 'until-closed';
    return 0;
  });
  workerEnv = {
    SMTP_HOST: smtp.host,
    SMTP_PORT: String(smtp.port),
    WORKER_SHUTDOWN_TIMEOUT_SECS: String(WORKER_SHUTDOWN_TIMEOUT_SECS),
  };
  [victim, survivor, workerA] = await Promise.all([
    startServerProcess({ name: 'graceful-victim', env: serverEnv }),
    startServerProcess({ name: 'graceful-survivor', env: serverEnv }),
    startWorkerProcess({ name: 'graceful-worker-a', env: workerEnv }),
  ]);
  started.push(victim, survivor, workerA);
  author = await createBenchUser(process.env, 'graceful', 'Graceful Author');
});

afterAll(async () => {
  try {
    // While the second worker runs it takes what this file queued (posts to index, mail to
    // send), so the next file's workers find none of it.
    if (workerB) await waitForJobQueuesDrained(process.env.NATS_URL!);
  } finally {
    const exits = await Promise.all(started.map((kit) => kit.stop()));
    await smtp?.close();
    await author?.db.write('users').whereIn('email', [finishingTo, stuckTo]).delete();
    await author?.remove();
    for (const exit of exits) expect(exit).toEqual({ code: 0, signal: null });
  }
});

/** Outbox rows committed since `since`; only those not yet relayed with `unsent`. */
async function outboxRows(since: Date, unsent: boolean): Promise<number> {
  const query = author.db.write('outbox').where('created_at', '>=', since);
  if (unsent) void query.whereNull('sent_at');
  const [row] = await query.count<{ count: string }[]>('* as count');
  return Number(row?.count);
}

interface Outcome {
  kind: string;
  startedAt: number;
  finishedAt: number;
  /** A 2xx whose body arrived whole (and parsed, for JSON). */
  complete: boolean;
  status?: number;
  body?: unknown;
  error?: string;
}

async function send(kind: string, request: () => Promise<Response>): Promise<Outcome> {
  const startedAt = performance.now();
  try {
    const response = await request();
    const text = await response.text();
    const json = response.headers.get('content-type')?.includes('json');
    const body: unknown = json ? JSON.parse(text) : text;
    return {
      kind,
      startedAt,
      finishedAt: performance.now(),
      complete: response.ok,
      status: response.status,
      body,
    };
  } catch (error) {
    return {
      kind,
      startedAt,
      finishedAt: performance.now(),
      complete: false,
      error: String((error as Error).cause ?? error),
    };
  }
}

/** A multipart upload whose body is sent in ten pieces over `spreadMs`: in flight that long. */
function slowUpload(url: string, cookie: string, image: Buffer, spreadMs: number) {
  const boundary = `graceful${randomBytes(8).toString('hex')}`;
  const body = Buffer.concat([
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n` +
        'Content-Type: image/png\r\n\r\n',
    ),
    image,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  const pieces = 10;
  const size = Math.ceil(body.length / pieces);
  let sentPieces = 0;
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (sentPieces > 0) await sleep(spreadMs / pieces);
      controller.enqueue(body.subarray(sentPieces * size, (sentPieces + 1) * size));
      sentPieces += 1;
      if (sentPieces === pieces) controller.close();
    },
  });
  return fetch(url, {
    method: 'POST',
    headers: {
      cookie,
      'content-type': `multipart/form-data; boundary=${boundary}`,
      'content-length': String(body.length),
    },
    body: stream,
    duplex: 'half',
  });
}

/** Reads an event stream to its end; `clean` when it ended without a reset or an error. */
async function readStream(url: string) {
  const response = await fetch(url, { headers: { accept: 'text/event-stream' } });
  let events = 0;
  try {
    const decoder = new TextDecoder();
    for await (const chunk of response.body! as AsyncIterable<Uint8Array>) {
      events += decoder.decode(chunk, { stream: true }).split('event: action_log').length - 1;
    }
    return { status: response.status, events, clean: true };
  } catch (error) {
    return { status: response.status, events, clean: false, error: String(error) };
  }
}

describe('graceful shutdown under load', () => {
  it.concurrent(
    'When a server under load gets SIGTERM, then every request sent before it is answered in full, its event streams end cleanly, its jobs are relayed and it exits 0 in its bound',
    async () => {
      const scenarioStart = new Date();
      const cookie = await signIn(survivor.url, author.credentials, {
        'x-forwarded-for': clientAddress(),
      });
      const image = await sharp(randomBytes(256 * 256 * 3), {
        raw: { width: 256, height: 256, channels: 3 },
      })
        .png()
        .toBuffer();

      const streams = Array.from({ length: 3 }, () =>
        readStream(`${victim.url}/v0/eventstream/actions`),
      );
      let signalledAt = Number.POSITIVE_INFINITY;
      const outcomes: Outcome[] = [];
      const addresses = Array.from({ length: 12 }, clientAddress);
      const loop = async (client: number) => {
        const headers = {
          cookie,
          'content-type': 'application/json',
          'x-forwarded-for': addresses[client],
        };
        for (let i = 0; performance.now() < signalledAt; i += 1) {
          const kind = ['createPost', 'listPosts', 'searchPosts'][(client + i) % 3]!;
          const request =
            kind === 'createPost'
              ? () =>
                  fetch(`${victim.url}/v0/posts`, {
                    method: 'POST',
                    headers,
                    body: JSON.stringify({
                      title: `graceful ${client}.${i}`,
                      content: 'x'.repeat(2000),
                    }),
                  })
              : kind === 'listPosts'
                ? () => fetch(`${victim.url}/v0/posts?limit=50`, { headers })
                : () => fetch(`${victim.url}/v0/search/posts?q=graceful&page_size=20`, { headers });
          outcomes.push(await send(kind, request));
        }
      };
      const loops = Array.from({ length: 12 }, (_, client) => loop(client));
      await sleep(1500);
      const uploads = [0, 1].map(() =>
        send('uploadProfileImage', () =>
          slowUpload(`${victim.url}/v0/user/me/profile-image`, cookie, image, 2500),
        ),
      );
      await sleep(1000);

      signalledAt = performance.now();
      const signalledAtClock = new Date();
      const exit = await victim.stop('SIGTERM');
      const drainMs = performance.now() - signalledAt;
      await Promise.all(loops);
      const finished = [...outcomes, ...(await Promise.all(uploads))];
      const ended = await Promise.all(streams);

      const beforeSignal = finished.filter((o) => o.startedAt < signalledAt);
      const incomplete = beforeSignal.filter((o) => !o.complete);
      const inFlightAtSignal = beforeSignal.filter((o) => o.finishedAt > signalledAt);
      const uploadOutcomes = finished.filter((o) => o.kind === 'uploadProfileImage');
      expect(incomplete).toEqual([]);
      for (const upload of uploadOutcomes) {
        expect(upload.status).toBe(201);
        expect(upload.finishedAt).toBeGreaterThan(signalledAt);
      }
      for (const stream of ended) expect(stream).toMatchObject({ status: 200, clean: true });
      expect(exit).toEqual({ code: 0, signal: null });
      expect(drainMs).toBeLessThan(SHUTDOWN_TIMEOUT_SECS * 1000);

      // Every acknowledged post is there, and every job committed with it is relayed, by the
      // surviving instance when the victim stopped before its turn.
      const postIds = finished
        .filter((o) => o.kind === 'createPost' && o.status === 201)
        .map((o) => (o.body as { id: string }).id);
      const missing: string[] = [];
      for (const id of postIds) {
        const response = await fetch(`${survivor.url}/v0/posts/${id}`);
        await response.body?.cancel();
        if (response.status !== 200) missing.push(id);
      }
      expect(missing).toEqual([]);
      await eventually(async () => (await outboxRows(scenarioStart, true)) === 0, 15_000);
      const relayed = await outboxRows(scenarioStart, false);
      // A row committed after the signal cannot be in the batch the victim's relay was
      // finishing (a batch claims its rows when it starts), so the survivor relayed it: at
      // least the reindex job of each upload, committed once its slow body had arrived.
      const relayedBySurvivor = await outboxRows(signalledAtClock, false);
      expect(relayedBySurvivor).toBeGreaterThanOrEqual(uploadOutcomes.length);

      recordScenario({
        scenario: 'graceful shutdown: server under load',
        requests: finished.length,
        faults: 'SIGTERM to one of two servers under load',
        unexpected5xx: beforeSignal.filter((o) => (o.status ?? 0) >= 500).length,
        lost: incomplete.length + missing.length,
        notes:
          `${beforeSignal.length} requests sent before the signal, all answered in full ` +
          `(${inFlightAtSignal.length} in flight at it, 2 of them uploads mid-body); ` +
          `${ended.length} event streams ended cleanly after ` +
          `${ended.map((s) => s.events).join('/')} events; exit 0 after ${(drainMs / 1000).toFixed(1)} s ` +
          `(bound ${SHUTDOWN_TIMEOUT_SECS} s); ${postIds.length} posts all readable; ` +
          `${relayed} outbox rows all relayed, the ${relayedBySurvivor} committed after the ` +
          'signal by the other instance',
      });
    },
  );

  it.concurrent(
    'When a worker gets SIGTERM with two emails in flight, then it finishes the one that answers in its bound, the other is redelivered to another worker, and it exits 0 in its bound',
    async () => {
      for (const email of [finishingTo, stuckTo]) {
        const response = await fetch(`${survivor.url}/v0/users`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-forwarded-for': clientAddress() },
          body: JSON.stringify({
            email,
            handle: `gs${randomBytes(6).toString('hex')}`,
            display_name: 'Graceful',
            password: randomBytes(18).toString('base64url'),
          }),
        });
        expect(response.status).toBe(201);
      }
      // Both sends are with worker A (the only worker, two emails at once), their data at the
      // SMTP server and their answers held back.
      await eventually(
        () => smtp.log(finishingTo).attempts === 1 && smtp.log(stuckTo).attempts === 1,
        20_000,
      );
      workerB = await startWorkerProcess({ name: 'graceful-worker-b', env: workerEnv });
      started.push(workerB);

      const signalledAt = performance.now();
      const stopping = workerA.stop('SIGTERM');
      await sleep(1000);
      smtp.release(finishingTo);
      const exit = await stopping;
      const exitMs = performance.now() - signalledAt;
      expect(exit).toEqual({ code: 0, signal: null });
      expect(exitMs).toBeLessThan(WORKER_SHUTDOWN_TIMEOUT_SECS * 1000 + EXIT_SLACK_MS);
      expect(smtp.log(finishingTo)).toEqual({ attempts: 1, delivered: 1, abandoned: 0 });
      // The worker's exit closes its SMTP connection; the server hears of it a moment later.
      await eventually(() => smtp.log(stuckTo).abandoned === 1, 5000);
      expect(smtp.log(stuckTo)).toEqual({ attempts: 1, delivered: 0, abandoned: 1 });

      await eventually(() => smtp.log(stuckTo).delivered === 1, ACK_WAIT_MS + 20_000);
      const redeliveredAfterMs = performance.now() - signalledAt;
      expect(smtp.log(stuckTo)).toEqual({ attempts: 2, delivered: 1, abandoned: 1 });
      // Nothing more arrives for either: each was sent once.
      await sleep(1000);
      expect(smtp.log(finishingTo).delivered).toBe(1);
      expect(smtp.log(stuckTo).delivered).toBe(1);

      recordScenario({
        scenario: 'graceful shutdown: worker mid-job',
        requests: 2,
        faults: `SIGTERM to a worker with 2 emails in flight (shutdown bound ${WORKER_SHUTDOWN_TIMEOUT_SECS} s)`,
        unexpected5xx: 0,
        lost: 2 - smtp.log(finishingTo).delivered - smtp.log(stuckTo).delivered,
        notes:
          `exit 0 after ${(exitMs / 1000).toFixed(1)} s; the email answered within the bound was ` +
          `finished and sent once; the one still unanswered was abandoned unacked and sent once ` +
          `by the other worker ${(redeliveredAfterMs / 1000).toFixed(0)} s after the signal ` +
          `(ack wait ${ACK_WAIT_MS / 1000} s)`,
      });
    },
  );
});
