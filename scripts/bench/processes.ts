import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { freePort } from '../../test/support/net.ts';

export interface RunningServer {
  url: string;
  /** Resident set size of the process now, in MiB. */
  rssMiB(): number;
  /** CPU time (user + system) the process has used so far, in milliseconds. */
  cpuMs(): number;
  /** Hands the process a message over its IPC channel; resolves on its reply. */
  send(message: unknown): Promise<void>;
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

function rssMiBOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1]);
  return kib / 1024;
}

const CLOCK_TICKS_PER_SECOND = 100;

function cpuMsOf(pid: number): number {
  // Fields after the command name, which is in parentheses and may hold spaces.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
}

/**
 * Starts a Node entry file as its own process, so it never shares a core with the load
 * generator's event loop. `execArgv` are Node flags for that process.
 */
export async function startServer(
  entry: string,
  env: NodeJS.ProcessEnv,
  execArgv: string[] = [],
): Promise<RunningServer> {
  const port = await freePort();
  const child = fork(entry, [], {
    env: { ...env, PORT: String(port), HOST: '127.0.0.1' },
    execArgv,
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/health-check`, child);
  return {
    url,
    rssMiB: () => rssMiBOf(child.pid!),
    cpuMs: () => cpuMsOf(child.pid!),
    send: (message) =>
      new Promise((resolve) => {
        child.once('message', () => resolve());
        child.send(message as never);
      }),
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
