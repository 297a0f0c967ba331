import { fork, type ChildProcess } from 'node:child_process';
import { freePort } from '../../test/support/net.ts';

export interface RunningServer {
  url: string;
  stop(): Promise<void>;
}

async function waitForHttp(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    const ok = await fetch(url).then(
      (r) => r.status < 500,
      () => false,
    );
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not answer in time`);
}

/** Starts a Node entry file as its own process, so it never shares a core with the load generator's event loop. */
export async function startServer(entry: string, env: NodeJS.ProcessEnv): Promise<RunningServer> {
  const port = await freePort();
  const child = fork(entry, [], {
    env: { ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/health-check`, child);
  return {
    url,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
