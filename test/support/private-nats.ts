import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForPort } from './net.ts';

/** A nats-server of the caller's own, so stopping it or reading its streams disturbs no other test. */
export interface PrivateNats {
  url: string;
  /** Starts it again on the same port and store, as a restarted server would come back. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Stops it and deletes its store. */
  destroy(): Promise<void>;
}

export async function startPrivateNats(): Promise<PrivateNats> {
  const port = await freePort();
  const storeDir = mkdtempSync(join(tmpdir(), 'private-nats-'));
  let child: ChildProcess | undefined;

  async function start(): Promise<void> {
    const args = ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir];
    const started = spawn('nats-server', args, { stdio: 'ignore' });
    child = started;
    // JetStream is enabled before the client port opens, so a connectable server is ready.
    await waitForPort(port, 'nats-server', () => started.exitCode !== null);
  }

  async function stop(): Promise<void> {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGTERM');
    await exited;
  }

  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    start,
    stop,
    async destroy() {
      await stop();
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
}
