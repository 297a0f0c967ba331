import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBenchUser, type BenchUser } from '../../scripts/bench/bench-user.ts';
import { signIn } from '../support/factories.ts';
import { eventually, sleep } from '../support/wait.ts';
import {
  startAll,
  startServerProcess,
  startWorkerProcess,
  type KitProcess,
} from './support/processes.ts';
import { waitForJobQueuesDrained } from './support/jobs.ts';
import { readMetric } from './support/metrics.ts';
import { connectRaw } from './support/raw-client.ts';
import { clientAddress } from './support/client-address.ts';
import { recordScenario } from './support/report.ts';
import { startSlowSmtp, type SlowSmtp } from './support/slow-smtp.ts';

const SHUTDOWN_TIMEOUT_SECS = 10;
/** The bound of the server with idle connections: far above what closing them takes. */
const IDLE_SHUTDOWN_TIMEOUT_SECS = 30;
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
let idleServer: KitProcess;
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
  const kits = await startAll([
    startServerProcess({ name: 'graceful-victim', env: serverEnv }),
    startServerProcess({ name: 'graceful-survivor', env: serverEnv }),
    startServerProcess({
      name: 'graceful-idle',
      env: { ...serverEnv, SHUTDOWN_TIMEOUT_SECS: String(IDLE_SHUTDOWN_TIMEOUT_SECS) },
    }),
    startWorkerProcess({ name: 'graceful-worker-a', env: workerEnv }),
  ]);
  started.push(...kits);
  [victim, survivor, idleServer, workerA] = kits as [
    KitProcess,
    KitProcess,
    KitProcess,
    KitProcess,
  ];
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

/**
 * A multipart upload whose body is sent in ten pieces `gapMs` apart, the last one only once
 * `lastPiece` settles: the request is in flight, its body part-way in, until then.
 */
function slowUpload(
  url: string,
  cookie: string,
  image: Buffer,
  gapMs: number,
  lastPiece: Promise<void>,
) {
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
      if (sentPieces > 0) await sleep(gapMs);
      if (sentPieces === pieces - 1) await lastPiece;
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

// One after the other: the jobs of both scenarios go to the same shared durables, so a worker
// stopped in the second must not be holding the first one's jobs.
describe('graceful shutdown under load', () => {
  it('When a server under load gets SIGTERM, then every request sent before it is answered in full, its event streams end cleanly, its jobs are relayed and it exits 0 in its bound', async () => {
    // Rows left from start-up are relayed first, so the relays' counters from here on count
    // only this scenario's rows.
    await eventually(async () => (await outboxRows(new Date(0), true)) === 0, 15_000);
    const scenarioStart = new Date();
    const published = (kit: KitProcess) =>
      readMetric(`${kit.url}/metrics`, 'outbox_published_total');
    const others = [survivor, idleServer];
    const [victimPublishedBefore, ...othersPublishedBefore] = await Promise.all(
      [victim, ...others].map(published),
    );
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
    const addresses = Array.from({ length: 12 }, () => clientAddress());
    const loop = async (client: number) => {
      const headers = {
        cookie,
        'content-type': 'application/json',
        'x-forwarded-for': addresses[client]!,
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
    // Under load: every client has had answers, so requests are being sent back to back.
    await eventually(() => outcomes.filter((o) => o.complete).length >= 36, 20_000);
    let signalSent!: () => void;
    const signalled = new Promise<void>((resolve) => (signalSent = resolve));
    const uploads = [0, 1].map(() =>
      send('uploadProfileImage', () =>
        slowUpload(`${victim.url}/v0/user/me/profile-image`, cookie, image, 50, signalled),
      ),
    );
    // Both uploads hold a place at the server, which is reading their bodies; the last piece
    // of each waits for the signal.
    await eventually(
      async () => (await readMetric(`${victim.url}/metrics`, 'http_uploads_in_flight')) === 2,
      10_000,
    );
    const victimPublishedBeforeSignal = (await published(victim)) - victimPublishedBefore!;

    signalledAt = performance.now();
    const signalledAtClock = new Date();
    const stopping = victim.stop('SIGTERM');
    signalSent();
    const exit = await stopping;
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
    // Code 0 is the drain's own exit: the forced one at the bound exits 1.
    expect(exit).toEqual({ code: 0, signal: null });

    // Every acknowledged post is there, and every job committed with it is relayed.
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
    // At least the reindex job of each upload was committed after the signal, once its last
    // piece had arrived: the victim's last batch after its requests or another relay took it.
    const committedAfterSignal = await outboxRows(signalledAtClock, false);
    expect(committedAfterSignal).toBeGreaterThanOrEqual(uploadOutcomes.length);
    // What the other servers' relays did not publish, the victim's did.
    const othersPublishedAfter = await Promise.all(others.map(published));
    const byOthers = othersPublishedAfter.reduce(
      (total, after, i) => total + after - othersPublishedBefore[i]!,
      0,
    );
    expect(byOthers).toBeLessThanOrEqual(relayed);
    const byVictimAfterSignal = relayed - byOthers - victimPublishedBeforeSignal;
    expect(byVictimAfterSignal).toBeGreaterThanOrEqual(0);

    recordScenario({
      scenario: 'graceful shutdown: server under load',
      requests: finished.length,
      faults: 'SIGTERM to one of two servers under load',
      unexpected5xx: beforeSignal.filter((o) => (o.status ?? 0) >= 500).length,
      lost: incomplete.length + missing.length,
      notes:
        `${beforeSignal.length} requests sent before the signal, all answered in full ` +
        `(${inFlightAtSignal.length} in flight at it, ${uploadOutcomes.length} of them uploads mid-body); ` +
        `${ended.length} event streams ended cleanly after ` +
        `${ended.map((s) => s.events).join('/')} events; exit 0 after ${(drainMs / 1000).toFixed(1)} s ` +
        `(bound ${SHUTDOWN_TIMEOUT_SECS} s); ${postIds.length} posts all readable; ` +
        `${relayed} outbox rows all relayed (${committedAfterSignal} committed after the signal): ` +
        `${byOthers} by the other instances, ${victimPublishedBeforeSignal} by the stopped one ` +
        `up to a scrape just before the signal and ${byVictimAfterSignal} from then to its exit ` +
        '(outbox_published_total)',
    });
  });

  it('When a server gets SIGTERM while a client trickles a request head in and another holds a connection it never used, then it closes both and exits 0 well before its bound', async () => {
    const server = idleServer;
    const boundSecs = IDLE_SHUTDOWN_TIMEOUT_SECS;
    const slowloris = await connectRaw(server.url);
    const idle = await connectRaw(server.url);
    slowloris.socket.write('GET /health-check HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    let header = 0;
    const trickle = setInterval(() => {
      if (!slowloris.socket.destroyed) slowloris.socket.write(`x-trickle-${(header += 1)}: 1\r\n`);
    }, 200);
    try {
      // Both held at the server (the scrape's own connection is the third), the head still
      // coming in.
      await eventually(
        async () => (await readMetric(`${server.url}/metrics`, 'http_open_connections')) >= 3,
        10_000,
      );
      await eventually(() => header >= 3, 10_000);

      const signalledAt = performance.now();
      const exit = await server.stop('SIGTERM');
      const exitMs = performance.now() - signalledAt;
      await Promise.all([slowloris.closed, idle.closed]);

      expect(exit).toEqual({ code: 0, signal: null });
      // Without the drain closing them, server.close() would wait on both until the forced
      // exit at the bound; closing them takes well under a second.
      expect(exitMs).toBeLessThan((boundSecs * 1000) / 3);
      expect(slowloris.closedByServer()).toBe(true);
      expect(idle.closedByServer()).toBe(true);

      recordScenario({
        scenario: 'graceful shutdown: server with idle and trickling connections',
        requests: 0,
        faults: 'SIGTERM with a slowloris head and an unused connection open',
        unexpected5xx: 0,
        lost: 0,
        notes:
          `exit 0 after ${(exitMs / 1000).toFixed(1)} s (bound ${boundSecs} s); both ` +
          `connections closed by the server, the trickling one after ${header} header lines`,
      });
    } finally {
      clearInterval(trickle);
      slowloris.destroy();
      idle.destroy();
    }
  });

  it('When a worker gets SIGTERM with two emails in flight, then it finishes the one that answers in its bound, the other is redelivered to another worker, and it exits 0 in its bound', async () => {
    // Worker A has nothing of the first scenario left, so both emails go to it alone.
    await waitForJobQueuesDrained(process.env.NATS_URL!);
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
    // The answer comes once worker A says it is stopping (its health turns 503 from the
    // signal), within its bound.
    await eventually(
      async () => (await fetch(`${workerA.url}/health`)).status === 503,
      WORKER_SHUTDOWN_TIMEOUT_SECS * 1000,
    );
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
    // Nothing is left unacked or undelivered on any job stream, so no further copy of either
    // can come: each was sent once.
    await waitForJobQueuesDrained(process.env.NATS_URL!);
    expect(smtp.log(finishingTo)).toEqual({ attempts: 1, delivered: 1, abandoned: 0 });
    expect(smtp.log(stuckTo)).toEqual({ attempts: 2, delivered: 1, abandoned: 1 });

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
        `(ack wait ${ACK_WAIT_MS / 1000} s); no job left unacked on any stream afterwards`,
    });
  });
});
