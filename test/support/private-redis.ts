import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestApp, type TestApp } from './app.ts';
import { freePort, waitForPort } from './net.ts';

export interface PrivateRedis {
  url: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A redis-server of one test file's own, on a free port: the test may fill it, count its
 * commands or stop it without disturbing any other test. `start()` after `stop()` brings back
 * an empty server on the same port, like a restart that lost its scripts.
 */
export async function createPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'private-redis-'));
  let child: ChildProcess | undefined;
  return {
    url: `redis://127.0.0.1:${port}`,
    async start() {
      const args = ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--dir', dir];
      const started = spawn('redis-server', args, { stdio: 'ignore' });
      child = started;
      await waitForPort(port, 'redis-server', () => started.exitCode !== null);
    },
    async stop() {
      if (!child) return;
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      child = undefined;
    },
  };
}

/** A test app whose cache Redis is a private one, for tests that stop it under the app. */
export async function startAppOnPrivateCacheRedis(): Promise<{
  app: TestApp;
  cacheRedis: PrivateRedis;
  close: () => Promise<void>;
}> {
  const cacheRedis = await createPrivateRedis();
  await cacheRedis.start();
  const app = await startTestApp({ redis: { cacheUrl: cacheRedis.url } });
  return {
    app,
    cacheRedis,
    close: async () => {
      await app.close();
      await cacheRedis.stop();
    },
  };
}
