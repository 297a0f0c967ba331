import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.ts';
import { createPrivateRedis, type PrivateRedis } from '../support/private-redis.ts';

let app: TestApp;
// A session Redis of this test's own, so stopping it disturbs no other test.
let redis: PrivateRedis;

async function readiness() {
  const response = await fetch(`${app.baseUrl}/health/ready`);
  return { status: response.status, body: (await response.json()) as Record<string, string> };
}

async function eventually(expected: number) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const result = await readiness();
    if (result.status === expected || Date.now() > deadline) return result;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

beforeAll(async () => {
  redis = await createPrivateRedis();
  await redis.start();
  app = await startTestApp({}, { ...process.env, REDIS_SESSION_URL: redis.url });
});

afterAll(async () => {
  await app.close();
  await redis.stop();
});

describe('GET /health/ready', () => {
  it('When every dependency answers, then it is 200 with each check ok', async () => {
    const result = await readiness();
    expect(result).toEqual({
      status: 200,
      body: { postgres: 'ok', redis: 'ok', nats: 'ok', storage: 'ok' },
    });
  });

  it('When Redis stops, then it turns 503 naming redis down, and 200 again once Redis is back', async () => {
    await redis.stop();
    const down = await eventually(503);
    expect(down).toEqual({
      status: 503,
      body: { postgres: 'ok', redis: 'down', nats: 'ok', storage: 'ok' },
    });

    await redis.start();
    const back = await eventually(200);
    expect(back.status).toBe(200);
    expect(back.body.redis).toBe('ok');
  });

  it('When dependencies are down, then the liveness probe still answers 204', async () => {
    expect((await fetch(`${app.baseUrl}/health-check`)).status).toBe(204);
  });
});
