import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { Socket, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.ts';

let app: TestApp;
let redis: ChildProcess | undefined;
let redisPort: number;
const redisDir = mkdtempSync(join(tmpdir(), 'readiness-redis-'));

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A session Redis of this test's own, so stopping it disturbs no other test. */
async function startRedis(): Promise<void> {
  const args = [
    '--bind',
    '127.0.0.1',
    '--port',
    String(redisPort),
    '--save',
    '',
    '--dir',
    redisDir,
  ];
  redis = spawn('redis-server', args, { stdio: 'ignore' });
  const deadline = Date.now() + 5000;
  while (!(await canConnect(redisPort))) {
    if (Date.now() > deadline) throw new Error('redis did not start');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket
      .once('connect', () => {
        socket.destroy();
        resolve(true);
      })
      .once('error', () => resolve(false))
      .connect(port, '127.0.0.1');
  });
}

async function stopRedis(): Promise<void> {
  if (!redis) return;
  const exited = new Promise((resolve) => redis!.once('exit', resolve));
  redis.kill('SIGTERM');
  await exited;
  redis = undefined;
}

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
  redisPort = await freePort();
  await startRedis();
  app = await startTestApp(
    {},
    { ...process.env, REDIS_SESSION_URL: `redis://127.0.0.1:${redisPort}` },
  );
});

afterAll(async () => {
  await app.close();
  await stopRedis();
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
    await stopRedis();
    const down = await eventually(503);
    expect(down).toEqual({
      status: 503,
      body: { postgres: 'ok', redis: 'down', nats: 'ok', storage: 'ok' },
    });

    await startRedis();
    const back = await eventually(200);
    expect(back.status).toBe(200);
    expect(back.body.redis).toBe('ok');
  });

  it('When dependencies are down, then the liveness probe still answers 204', async () => {
    expect((await fetch(`${app.baseUrl}/health-check`)).status).toBe(204);
  });
});
