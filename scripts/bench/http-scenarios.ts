import { measure, type Measurement } from './measure.ts';
import type { RunningServer } from './processes.ts';

/**
 * An HTTP scenario of `npm run bench`, measured in one run against three servers: the app;
 * its library floor (library-floor-server.ts: the same request through the kit's libraries
 * alone, doing the same store reads); and bare Express answering the same body. App ÷ floor
 * is what the kit's own layers cost.
 */
export interface HttpScenario {
  name: string;
  /** Each connection sends these in turn. */
  paths: string[];
  /** Per server: a signed-in scenario sends each server its own session cookie. */
  headers?: Partial<Record<ServerName, Record<string, string>>>;
  connections?: number;
  /** The least share of the floor's throughput the app must keep. */
  floorRatioTarget?: number;
  /** The least share of bare Express's throughput (for requests no library handles). */
  bareRatioTarget?: number;
  /** The app's p99 must stay under this. */
  p99TargetMs?: number;
}

export type ServerName = 'app' | 'floor' | 'bare';
export type Servers = Record<ServerName, RunningServer>;

/** A server's best round, and the CPU time it spent per request in its leanest round. */
export type Run = Measurement & { cpuUsPerRequest: number };

export interface ScenarioResult {
  app: Run;
  floor: Run;
  bare: Run;
  ok: boolean;
  lines: string[];
}

const ORDER: ServerName[] = ['bare', 'floor', 'app'];

function best(runs: Run[]): Run {
  const fastest = runs.reduce((a, b) => (b.requestsPerSecond > a.requestsPerSecond ? b : a));
  return { ...fastest, cpuUsPerRequest: Math.min(...runs.map((r) => r.cpuUsPerRequest)) };
}

const format = (m: Run) =>
  `${m.requestsPerSecond.toFixed(0).padStart(7)} req/s  p50 ${String(m.p50Ms).padStart(3)} ms  p99 ${String(m.p99Ms).padStart(3)} ms  ${m.cpuUsPerRequest.toFixed(0).padStart(5)} µs CPU/req  errors ${m.errors}  non-2xx ${m.non2xx}`;

/**
 * Asks the app each of the scenario's requests once and hands its answers to the bare
 * server, so the yardstick sends the very bodies the app sends.
 */
export async function teachBare(scenario: HttpScenario, servers: Servers): Promise<void> {
  for (const path of scenario.paths) {
    const response = await fetch(servers.app.url + path, { headers: scenario.headers?.app });
    if (response.status !== 200) {
      throw new Error(`${scenario.name}: the app answered ${path} with ${response.status}`);
    }
    await servers.bare.send({ url: path, body: await response.json() });
  }
}

/**
 * Interleaved rounds (bare, floor, app, then again), the best round of each server counted.
 * Each server's CPU time per request is read from /proc as well: on a machine shared with
 * other work, throughput swings with the neighbours' load, the CPU a request costs far less.
 */
export async function runScenario(
  scenario: HttpScenario,
  servers: Servers,
  rounds: number,
): Promise<ScenarioResult> {
  const runs: Record<ServerName, Run[]> = { app: [], floor: [], bare: [] };
  for (let round = 0; round < rounds; round += 1) {
    for (const name of ORDER) {
      const cpuBefore = servers[name].cpuMs();
      const measurement = await measure({
        origin: servers[name].url,
        paths: scenario.paths,
        headers: scenario.headers?.[name] ?? scenario.headers?.app,
        connections: scenario.connections,
      });
      const cpuUs = (servers[name].cpuMs() - cpuBefore) * 1000;
      runs[name].push({ ...measurement, cpuUsPerRequest: cpuUs / measurement.requests });
    }
  }
  const app = best(runs.app);
  const floor = best(runs.floor);
  const bare = best(runs.bare);
  const floorRatio = app.requestsPerSecond / floor.requestsPerSecond;
  const bareRatio = app.requestsPerSecond / bare.requestsPerSecond;
  const cpuRatio = floor.cpuUsPerRequest / app.cpuUsPerRequest;
  const clean = [app, floor, bare].every((m) => m.errors === 0 && m.non2xx === 0);
  const verdicts: string[] = [];
  let ok = clean;
  const check = (met: boolean, text: string) => {
    ok &&= met;
    verdicts.push(`${text} ${met ? 'ok' : 'MISSED'}`);
  };
  if (scenario.floorRatioTarget !== undefined) {
    check(floorRatio >= scenario.floorRatioTarget, `app ÷ floor >= ${scenario.floorRatioTarget}`);
  }
  if (scenario.bareRatioTarget !== undefined) {
    check(bareRatio >= scenario.bareRatioTarget, `app ÷ bare >= ${scenario.bareRatioTarget}`);
  }
  if (scenario.p99TargetMs !== undefined) {
    check(app.p99Ms < scenario.p99TargetMs, `app p99 < ${scenario.p99TargetMs} ms`);
  }
  return {
    app,
    floor,
    bare,
    ok,
    lines: [
      `${scenario.name}  (${scenario.connections ?? 50} connections)`,
      `  app    ${format(app)}`,
      `  floor  ${format(floor)}`,
      `  bare   ${format(bare)}`,
      `  RSS after: app ${servers.app.rssMiB().toFixed(0)} MiB, floor ${servers.floor.rssMiB().toFixed(0)} MiB, bare ${servers.bare.rssMiB().toFixed(0)} MiB`,
      `  app ÷ floor ${floorRatio.toFixed(2)} (by CPU per request ${cpuRatio.toFixed(2)})  app ÷ bare ${bareRatio.toFixed(2)}` +
        (verdicts.length ? `  (${verdicts.join(', ')})` : '') +
        (clean ? '' : '  FAILED REQUESTS'),
    ],
  };
}
