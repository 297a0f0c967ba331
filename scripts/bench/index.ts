import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { runJobsBench } from './jobs.ts';
import { measure, type Measurement } from './measure.ts';
import { startServer } from './processes.ts';

/**
 * `npm run bench`: each scenario is measured against the full app and, in the same run,
 * against a bare Express 5 app answering the same request. This machine is noisy, so the
 * figure that counts is the ratio, taken from interleaved rounds (best of each side).
 */

const STACK_ENV = '.stack/test/stack.env';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

interface Scenario {
  name: string;
  path: string;
  targetRatio: number;
}

const scenarios: Scenario[] = [
  { name: 'GET /health-check', path: '/health-check', targetRatio: 0.85 },
];

function stackEnv(): Record<string, string> {
  if (!existsSync(STACK_ENV)) {
    execFileSync('bash', ['scripts/stack/up.sh', '--profile', 'test', '--no-seed'], {
      stdio: 'inherit',
    });
  }
  return parseEnv(readFileSync(STACK_ENV, 'utf8')) as Record<string, string>;
}

const best = (runs: Measurement[]) =>
  runs.reduce((a, b) => (b.requestsPerSecond > a.requestsPerSecond ? b : a));

const format = (m: Measurement) =>
  `${m.requestsPerSecond.toFixed(0).padStart(7)} req/s  p50 ${String(m.p50Ms).padStart(3)} ms  p99 ${String(m.p99Ms).padStart(3)} ms`;

const stack = stackEnv();
const env = {
  ...process.env,
  ...stack,
  NODE_ENV: 'production',
  LOG_LEVEL: 'warn',
  API_DOCS_ENABLED: 'false',
  CORS_ALLOWED_ORIGINS: 'http://localhost:3000',
  FRONTEND_HOST: 'http://localhost:3000',
  EMAIL_FROM: 'Bench <bench@expresskit.localhost>',
  SESSION_SECRET: 'bench-4c8e0a1f9b7d6e5c3a2b1f0e9d8c7b6a5f4e3d2c',
};
// Production mode: response validation is off there, as it is for real traffic.
const app = await startServer('src/server.ts', env);
const bare = await startServer('scripts/bench/bare-server.ts', env);

let failed = false;
try {
  console.log(`bench: ${ROUNDS} interleaved rounds per scenario, 5 s each, 50 connections\n`);
  for (const scenario of scenarios) {
    const appRuns: Measurement[] = [];
    const bareRuns: Measurement[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      bareRuns.push(await measure({ url: bare.url + scenario.path }));
      appRuns.push(await measure({ url: app.url + scenario.path }));
    }
    const a = best(appRuns);
    const b = best(bareRuns);
    const ratio = a.requestsPerSecond / b.requestsPerSecond;
    const verdict = ratio >= scenario.targetRatio ? 'ok' : 'BELOW TARGET';
    if (ratio < scenario.targetRatio || a.errors > 0 || a.non2xx > 0) failed = true;
    console.log(`${scenario.name}`);
    console.log(`  app   ${format(a)}  errors ${a.errors} non-2xx ${a.non2xx}`);
    console.log(`  bare  ${format(b)}`);
    console.log(`  ratio ${ratio.toFixed(2)} (target >= ${scenario.targetRatio}) ${verdict}\n`);
  }
} finally {
  await app.stop();
  await bare.stop();
}

console.log('jobs: outbox → relay → JetStream → no-op consumer');
const jobs = await runJobsBench({ ...stack, BENCH_ROUNDS: String(ROUNDS) });
for (const line of jobs.lines) console.log(`  ${line}`);
if (!jobs.ok) failed = true;
process.exit(failed ? 1 : 0);
