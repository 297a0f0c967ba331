import { request, type ClientRequest } from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { closeNats, createNats } from '../../src/shared/clients/nats.ts';
import { lastActionLogPosition } from '../../src/modules/action-logs/action-logs.repository.ts';
import type { ActionLogAnnouncement } from '../../src/modules/action-logs/action-logs.recorder.ts';
import { realtimeEventsSubject } from '../../src/shared/constants/jobs.ts';
import { newId } from '../../src/shared/db/ids.ts';
import { createDatabase } from '../../src/shared/db/knex.ts';
import type { RunningServer } from './processes.ts';

/**
 * The live event stream at scale: CLIENTS_PER_INSTANCE stream clients on each of two app
 * instances, then EVENTS action logs published on the realtime subject at EVENTS_PER_SECOND,
 * as a server publishes one after its commit, each at the stream position after the last one
 * committed (no action log is written meanwhile). Every client must get every event; the figure
 * is the time from publish to delivery over all deliveries, and each instance's resident
 * memory per connected client.
 */

const CLIENTS_PER_INSTANCE = 500;
const EVENTS = 100;
const EVENTS_PER_SECOND = 20;
const P99_TARGET_MS = 200;
const CONNECT_TIMEOUT_MS = 60_000;
const DELIVERY_TIMEOUT_MS = 30_000;

interface StreamClient {
  request: ClientRequest;
  /** Event ids received, with when. */
  received: Map<string, number>;
}

function connect(origin: string): StreamClient {
  const received = new Map<string, number>();
  const req = request(`${origin}/v0/eventstream/actions`, { agent: false }, (res) => {
    res.setEncoding('utf8');
    let buffered = '';
    res.on('data', (chunk: string) => {
      const now = performance.now();
      buffered += chunk;
      let end: number;
      while ((end = buffered.indexOf('\n\n')) !== -1) {
        const frame = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        const id = /^id: (.+)$/m.exec(frame)?.[1];
        if (id) received.set(id, now);
      }
    });
  });
  req.on('error', () => {});
  req.end();
  return { request: req, received };
}

function actionLog(id: string): Omit<ActionLogAnnouncement, 'position'> {
  return {
    id,
    action: 'post:create',
    actor_id: newId(),
    actor_ip: '127.0.0.1',
    resource_type: 'post',
    resource_id: newId(),
    summary: 'A bench event',
    metadata: {},
    created_at: new Date().toISOString(),
  };
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;

async function until(done: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

export async function runEventStreamBench(
  instances: RunningServer[],
  env: { NATS_URL: string; DATABASE_URL: string },
): Promise<{ lines: string[]; ok: boolean }> {
  const db = createDatabase(
    { url: env.DATABASE_URL, readUrl: env.DATABASE_URL, poolMax: 1, readPoolMax: 1 },
    'bench',
  );
  let position = await lastActionLogPosition(db.write).finally(() => db.close());
  const nats = await createNats(env.NATS_URL, 'bench-eventstream');
  const publish = (id: string) => {
    position += 1n;
    const announcement: ActionLogAnnouncement = { ...actionLog(id), position: position.toString() };
    nats.publish(realtimeEventsSubject, JSON.stringify(announcement));
  };
  const before = instances.map((instance) => instance.rssMiB());
  const clients = instances.flatMap((instance) =>
    Array.from({ length: CLIENTS_PER_INSTANCE }, () => connect(instance.url)),
  );
  try {
    // A stream starts with its first frame: warm-up events until every client has had one
    // tells that every subscription is in place.
    const everyoneConnected = await until(() => {
      publish(newId());
      return clients.every((client) => client.received.size > 0);
    }, CONNECT_TIMEOUT_MS);
    if (!everyoneConnected) throw new Error('not every stream client connected in time');
    const connected = instances.map((instance) => instance.rssMiB());

    const sentAt = new Map<string, number>();
    for (let i = 0; i < EVENTS; i += 1) {
      const id = newId();
      sentAt.set(id, performance.now());
      publish(id);
      await sleep(1000 / EVENTS_PER_SECOND);
    }
    const expected = sentAt.size * clients.length;
    const ids = [...sentAt.keys()];
    const delivered = () =>
      clients.reduce((sum, c) => sum + ids.filter((id) => c.received.has(id)).length, 0);
    await until(() => delivered() === expected, DELIVERY_TIMEOUT_MS);

    const latencies: number[] = [];
    for (const client of clients) {
      for (const [id, sent] of sentAt) {
        const at = client.received.get(id);
        if (at !== undefined) latencies.push(at - sent);
      }
    }
    latencies.sort((a, b) => a - b);
    const lost = expected - latencies.length;
    const p99 = percentile(latencies, 99);
    const ok = lost === 0 && p99 < P99_TARGET_MS;
    const perClient = instances.map(
      (_, i) => ((connected[i]! - before[i]!) * 1024) / CLIENTS_PER_INSTANCE,
    );
    return {
      ok,
      lines: [
        `${clients.length} clients on ${instances.length} instances, ${EVENTS} events at ${EVENTS_PER_SECOND}/s: ${latencies.length} deliveries, ${lost} lost`,
        `publish → delivery p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${latencies.at(-1)?.toFixed(1)} ms (target p99 < ${P99_TARGET_MS} ms) ${ok ? 'ok' : 'MISSED'}`,
        ...instances.map(
          (_, i) =>
            `instance ${i + 1}: RSS ${before[i]!.toFixed(0)} MiB before, ${connected[i]!.toFixed(0)} MiB with ${CLIENTS_PER_INSTANCE} clients: ${perClient[i]!.toFixed(0)} KiB per client`,
        ),
      ],
    };
  } finally {
    for (const client of clients) client.request.destroy();
    await closeNats(nats);
  }
}
