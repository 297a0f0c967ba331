import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ExpressKitClient } from '../../client/src/index.ts';
import { createBenchUser, type BenchUser } from '../../scripts/bench/bench-user.ts';
import { subscribe, type Subscriber } from '../eventstream/support/subscriber.ts';
import { eventually } from '../support/wait.ts';
import { browser } from './support/browser.ts';
import { startAll, startServerProcess, type KitProcess } from './support/processes.ts';
import { recordScenario } from './support/report.ts';

/** Login, check on the other server, revoke, check again: rounds of the session scenario. */
const SESSION_ROUNDS = 10;
/** Posts created, half through each server, while the event streams listen. */
const EVENTS = 50;
const EVENTS_IN_FLIGHT = 10;
const STREAMS_PER_SERVER = 2;

let servers: KitProcess[] = [];
let user: BenchUser;

beforeAll(async () => {
  servers = await startAll(
    ['server-a', 'server-b'].map((name) =>
      startServerProcess({ name, env: { TRUST_PROXY: 'loopback' } }),
    ),
  );
  user = await createBenchUser(process.env, 'mp', 'Multi Process');
});

afterAll(async () => {
  await Promise.all(servers.map((server) => server.stop()));
  await user?.remove();
});

/** GET /v0/user/me on a server with exactly this cookie, outside any jar. */
async function meWith(server: KitProcess, cookie: string) {
  const response = await fetch(`${server.url}/v0/user/me`, { headers: { cookie } });
  const body = (await response.json()) as { id?: string; code?: string };
  return { status: response.status, id: body.id, code: body.code };
}

async function signIn(client: ExpressKitClient): Promise<void> {
  const { response } = await client.POST('/v0/auth/login', {
    body: { ...user.credentials, remember_me: false },
  });
  expect(response.status).toBe(204);
}

it('When a session is made on server A, then server B serves it, and once A revokes it (logout or the sessions API) the very next request on B is 401', async () => {
  const b = servers[1]!;
  const manager = browser(servers);
  await signIn(manager.on[1]!);
  const statuses: number[] = [];
  const notRevoked: string[] = [];
  let requests = 1;

  for (let round = 0; round < SESSION_ROUNDS; round += 1) {
    const viewer = browser(servers);
    await signIn(viewer.on[0]!);
    const cookie = viewer.cookie();
    const before = await meWith(b, cookie);
    requests += 2;
    statuses.push(before.status);
    expect(before).toMatchObject({ status: 200, id: user.userId });

    if (round % 2 === 0) {
      const { response } = await viewer.on[0]!.POST('/v0/auth/logout');
      statuses.push(response.status);
      expect(response.status).toBe(204);
      requests += 1;
    } else {
      const { data } = await viewer.on[1]!.GET('/v0/auth/sessions');
      const current = data!.sessions.find((session) => session.is_current)!;
      const { response } = await manager.on[0]!.DELETE('/v0/auth/sessions/{id}', {
        params: { path: { id: current.id } },
      });
      statuses.push(response.status);
      expect(response.status).toBe(204);
      requests += 2;
    }

    const after = await meWith(b, cookie);
    requests += 1;
    statuses.push(after.status);
    if (after.status !== 401 || after.code !== 'auth:unauthorized') {
      notRevoked.push(`round ${round}: ${after.status} ${after.code ?? ''}`);
    }
  }
  const managerStill = await meWith(b, manager.cookie());
  requests += 1;

  recordScenario({
    scenario: 'multi-process: session made on A used and revoked across A and B',
    requests,
    faults: 'none',
    unexpected5xx: statuses.filter((status) => status >= 500).length,
    lost: notRevoked.length,
    notes: `${SESSION_ROUNDS} sessions; a revoked one was refused by B on its next request every time`,
  });
  expect(notRevoked).toEqual([]);
  expect(managerStill).toMatchObject({ status: 200, id: user.userId });
});

it('When posts are created through both servers while clients stream from each, then every client receives exactly those events, the same ids', async () => {
  const author = browser(servers);
  await signIn(author.on[0]!);
  const statuses: number[] = [];
  const createPost = async (via: ExpressKitClient, title: string): Promise<string> => {
    const { data, response } = await via.POST('/v0/posts', {
      body: { title, content: `Written by the multi-process suite: ${title}` },
    });
    statuses.push(response.status);
    expect(response.status).toBe(201);
    return data!.id;
  };

  const query = { actor_id: user.userId, action: 'post:create' as const };
  const streams: Subscriber[] = servers.flatMap((server) =>
    Array.from({ length: STREAMS_PER_SERVER }, () => subscribe({ baseUrl: server.url }, query)),
  );
  try {
    // The streams open asynchronously; warm-up posts go on until each has received one, so
    // the counted posts are all created while every stream listens.
    const warmUps = new Set<string>();
    let lastWarmUp = 0;
    await eventually(async () => {
      if (streams.every((stream) => stream.received.length > 0)) return true;
      if (Date.now() - lastWarmUp > 250) {
        lastWarmUp = Date.now();
        warmUps.add(await createPost(author.on[0]!, 'warm-up'));
      }
      return false;
    }, 20_000);

    const created: string[] = [];
    for (let start = 0; start < EVENTS; start += EVENTS_IN_FLIGHT) {
      const batch = Array.from({ length: Math.min(EVENTS_IN_FLIGHT, EVENTS - start) }, (_, i) =>
        createPost(author.on[(start + i) % 2]!, `post ${start + i}`),
      );
      created.push(...(await Promise.all(batch)));
    }
    // One last post through each server: once every stream has both, anything still on its
    // way from the counted posts (a late duplicate included) has arrived as well.
    const markers = await Promise.all(author.on.map((via) => createPost(via, 'marker')));
    const seen = (stream: Subscriber, id: string) =>
      stream.received.some((log) => log.resource_id === id);
    await eventually(
      () => streams.every((stream) => markers.every((marker) => seen(stream, marker))),
      30_000,
    );

    const counted = streams.map((stream) =>
      stream.received.filter(
        (log) => !warmUps.has(log.resource_id) && !markers.includes(log.resource_id),
      ),
    );
    const lost = counted.reduce(
      (sum, logs) =>
        sum + created.filter((id) => !logs.some((log) => log.resource_id === id)).length,
      0,
    );
    recordScenario({
      scenario: 'multi-process: SSE clients on A and B see the events of both',
      requests: statuses.length,
      faults: 'none',
      unexpected5xx: statuses.filter((status) => status >= 500).length,
      lost,
      notes: `${EVENTS} counted events × ${streams.length} clients (${STREAMS_PER_SERVER} per server)`,
    });

    const logIds = counted.map((logs) => logs.map((log) => log.id).sort());
    for (const [i, logs] of counted.entries()) {
      expect(logs.map((log) => log.resource_id).sort(), `client ${i}`).toEqual([...created].sort());
      expect(logIds[i], `client ${i}`).toEqual(logIds[0]);
    }
    expect(new Set(logIds[0]).size).toBe(EVENTS);
  } finally {
    await Promise.all(streams.map((stream) => stream.close()));
  }
});
