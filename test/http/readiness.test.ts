import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.ts';
import { startPrivateNats, type PrivateNats } from '../support/private-nats.ts';
import { createPrivateRedis, type PrivateRedis } from '../support/private-redis.ts';

let app: TestApp;
// A session Redis and a NATS of this test's own, so stopping them disturbs no other test.
let redis: PrivateRedis;
let nats: PrivateNats;

const ALL_OK = { postgres: 'ok', redis: 'ok', nats: 'ok', storage: 'ok' };

async function readiness() {
  const response = await fetch(`${app.baseUrl}/health/ready`);
  return { status: response.status, body: (await response.json()) as Record<string, string> };
}

// Each probe is bounded by 2 s and the clients reconnect within about a second, so either
// transition takes a few seconds at most.
async function eventually(expected: number) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const result = await readiness();
    if (result.status === expected || Date.now() > deadline) return result;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const liveness = async () => (await fetch(`${app.baseUrl}/health-check`)).status;

beforeAll(async () => {
  redis = await createPrivateRedis();
  await redis.start();
  nats = await startPrivateNats();
  app = await startTestApp(
    {},
    { ...process.env, REDIS_SESSION_URL: redis.url, NATS_URL: nats.url },
  );
});

afterAll(async () => {
  await app.close();
  await redis.stop();
  await nats.destroy();
});

describe('GET /health/ready', () => {
  it('When every dependency answers, then it is 200 with each check ok', async () => {
    expect(await readiness()).toEqual({ status: 200, body: ALL_OK });
  });

  it('When Redis stops, then it turns 503 naming redis down while liveness stays 204, and 200 again once Redis is back', async () => {
    await redis.stop();
    expect(await eventually(503)).toEqual({ status: 503, body: { ...ALL_OK, redis: 'down' } });
    expect(await liveness()).toBe(204);

    await redis.start();
    expect(await eventually(200)).toEqual({ status: 200, body: ALL_OK });
  });

  it('When NATS stops, then it turns 503 naming nats down while liveness stays 204, and 200 again once NATS is back', async () => {
    await nats.stop();
    expect(await eventually(503)).toEqual({ status: 503, body: { ...ALL_OK, nats: 'down' } });
    expect(await liveness()).toBe(204);

    await nats.start();
    expect(await eventually(200)).toEqual({ status: 200, body: ALL_OK });
  });

  // Last: an instance never comes back from draining.
  it('When the instance starts draining, then it is 503 while every check is still ok, and liveness stays 204', async () => {
    app.built.startDraining();
    expect(await readiness()).toEqual({ status: 503, body: ALL_OK });
    expect(await liveness()).toBe(204);
  });
});
