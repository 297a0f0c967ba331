import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import { freePort } from '../../support/net.ts';
import { startCommand } from '../../support/start-command.ts';

const LOG_DIR = '.stack/reliability/logs/processes';
const READY_TIMEOUT_MS = 60_000;
const KILL_AFTER_MS = 45_000;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface KitProcess {
  name: string;
  pid: number;
  /** The server's base URL, or the worker's health and metrics endpoint. */
  url: string;
  /** Where its stdout and stderr go, to read when a test fails. */
  logFile: string;
  /** Settles when the process exits, however it exits. */
  exited: Promise<Exit>;
  /** Resident set size now, in MiB. */
  rssMiB(): number;
  /** Sends the signal (SIGTERM by default) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<Exit>;
}

export interface StartOptions {
  /** Names the process in its log file and in failures: `server-a`, `worker-b`. */
  name: string;
  /** Variables set on top of the stack's environment. */
  env?: Record<string, string>;
  /**
   * A scheduling niceness to run it at (negative: ahead of other processes), for a scenario
   * that times the process on a machine shared with other work. Needs the right to renice;
   * without it the process runs at normal priority and its log says so.
   */
  niceness?: number;
}

function rssMiBOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1]) / 1024;
}

async function waitUntilAnswering(url: string, what: KitProcess, child: ChildProcess) {
  try {
    await pollUntilAnswering(url, what, child);
  } catch (error) {
    // A process that never became ready must not outlive the failed start.
    await what.stop('SIGKILL');
    throw error;
  }
}

async function pollUntilAnswering(url: string, what: KitProcess, child: ChildProcess) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${what.name} exited during start-up; see ${what.logFile}`);
    }
    const ok = await fetch(url).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what.name} did not answer ${url} in time; see ${what.logFile}`);
}

function launch(
  script: 'start' | 'worker',
  options: StartOptions,
  port: number,
  env: Record<string, string>,
): { child: ChildProcess; logFile: string } {
  const command = startCommand(script);
  mkdirSync(LOG_DIR, { recursive: true });
  const logFile = `${LOG_DIR}/${options.name}.log`;
  const log = createWriteStream(logFile, { flags: 'a' });
  const node = [process.execPath, ...command.flags, command.entry];
  const argv =
    options.niceness === undefined ? node : ['nice', '-n', String(options.niceness), ...node];
  const child = spawn(argv[0]!, argv.slice(1), {
    env: { ...process.env, ...command.env, LOG_LEVEL: 'warn', ...env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  log.write(`=== ${new Date().toISOString()} ${options.name} on port ${port}\n`);
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });
  // 'close' comes after the last of its output, which 'exit' may precede.
  child.once('close', () => log.end());
  return { child, logFile };
}

function asKitProcess(name: string, url: string, child: ChildProcess, logFile: string): KitProcess {
  const exited = new Promise<Exit>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    name,
    pid: child.pid!,
    url,
    logFile,
    exited,
    rssMiB: () => rssMiBOf(child.pid!),
    stop: (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      // Past every shutdown bound of the kit (30 s, the worker's 25 s + 5 s): a process that
      // hangs in its shutdown is killed, so a failing test leaves nothing running.
      const killer = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
      return exited.finally(() => clearTimeout(killer));
    },
  };
}

/** A server process started as `npm start` starts it (its env, flags and entry), on a free port. */
export async function startServerProcess(options: StartOptions): Promise<KitProcess> {
  const port = await freePort();
  const { child, logFile } = launch('start', options, port, {
    PORT: String(port),
    HOST: '127.0.0.1',
  });
  const server = asKitProcess(options.name, `http://127.0.0.1:${port}`, child, logFile);
  await waitUntilAnswering(`${server.url}/health-check`, server, child);
  return server;
}

/** A worker process started as `npm run worker` starts it, its health endpoint on a free port. */
export async function startWorkerProcess(options: StartOptions): Promise<KitProcess> {
  const port = await freePort();
  const { child, logFile } = launch('worker', options, port, {
    WORKER_METRICS_PORT: String(port),
    WORKER_HOST: '127.0.0.1',
  });
  const worker = asKitProcess(options.name, `http://127.0.0.1:${port}`, child, logFile);
  await waitUntilAnswering(`${worker.url}/health`, worker, child);
  return worker;
}

/** Starts several processes at once; when one fails, those that started are stopped again. */
export async function startAll(starts: Promise<KitProcess>[]): Promise<KitProcess[]> {
  const settled = await Promise.allSettled(starts);
  const failure = settled.find((result) => result.status === 'rejected');
  const started = settled.flatMap((result) =>
    result.status === 'fulfilled' ? [result.value] : [],
  );
  if (!failure) return started;
  await Promise.all(started.map((kit) => kit.stop()));
  throw failure.reason;
}
