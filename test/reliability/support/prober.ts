import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface ProbeWindow {
  /** Each answered probe's latency in milliseconds, in the order sent. */
  latencies: number[];
  /** Probes answered 204. */
  count: number;
  /** Probes that failed or did not answer 204. */
  failures: number;
  p99Ms: number;
  maxMs: number;
}

export interface Prober {
  /** The probing process, to read its scheduling priority. */
  pid: number;
  /** The probes since the last report (or the start). */
  report(): Promise<ProbeWindow>;
  stop(): Promise<void>;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/**
 * Probes `url` every `intervalMs` from a separate process, each probe on a fresh connection:
 * a client that is not the attacker, timed by a process that is not the attacker either. With
 * `niceness` it runs at that scheduling priority (as the server it times should), so that what
 * it measures is the server, not its own wait for a CPU on a shared machine.
 */
export function startProber(
  url: string,
  options: { intervalMs?: number; niceness?: number } = {},
): Prober {
  const { intervalMs = 10, niceness } = options;
  const node = [
    process.execPath,
    'test/reliability/support/prober-process.ts',
    url,
    String(intervalMs),
  ];
  const argv = niceness === undefined ? node : ['nice', '-n', String(niceness), ...node];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    pid: child.pid!,
    async report() {
      child.stdin.write('report\n');
      const { value } = await lines.next();
      const { latencies, failures } = JSON.parse(String(value)) as {
        latencies: number[];
        failures: number;
      };
      const sorted = latencies.toSorted((a, b) => a - b);
      return {
        latencies,
        count: sorted.length,
        failures,
        p99Ms: percentile(sorted, 99),
        maxMs: sorted.at(-1) ?? Number.NaN,
      };
    },
    async stop() {
      child.stdin.end();
      await exited;
    },
  };
}
