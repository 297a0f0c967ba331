import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { authScenarios, type AuthScenarios, type HttpScenario } from './auth.ts';
import { runImagesBench } from './images.ts';
import { runJobsBench } from './jobs.ts';
import { measure, type Measurement } from './measure.ts';
import { startServer, type RunningServer } from './processes.ts';

/**
 * `npm run bench`: each scenario is measured against the full app and, in the same run,
 * against a bare Express 5 app answering the same request. This machine is noisy, so the
 * figure that counts is the ratio, taken from interleaved rounds (best of each side).
 */

const STACK_ENV = '.stack/test/stack.env';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

const scenarios: HttpScenario[] = [
  { name: 'GET /health-check', path: '/health-check', targetRatio: 0.85 },
];

/** Yardsticks for the signed-in scenario: the kit's libraries alone (library-floor-server.ts). */
const libraryFloors = [
  { name: 'express-session + connect-redis', floor: 'session' },
  { name: 'express-session + connect-redis + express-openapi-validator', floor: 'validated' },
];

function stackEnv(): Record<string, string> {
  if (!existsSync(STACK_ENV)) {
    execFileSync('bash', ['scripts/stack/up.sh', '--profile', 'test', '--no-seed'], {
      stdio: 'inherit',
    });
  }
  return parseEnv(readFileSync(STACK_ENV, 'utf8')) as Record<string, string>;
}

async function floorCookie(server: RunningServer): Promise<string> {
  const response = await fetch(`${server.url}/floor/login`, { method: 'POST' });
  const cookie = response.headers.getSetCookie()[0]?.split(';')[0];
  if (response.status !== 204 || !cookie) throw new Error('library floor login failed');
  return cookie;
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
  TOTP_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
  TOTP_SECRET: randomBytes(32).toString('hex'),
  // The login storm plays many clients behind a proxy: each request names its own address.
  TRUST_PROXY: 'loopback',
};
// Production mode: response validation is off there, as it is for real traffic.
const app = await startServer('src/server.ts', env);
const bare = await startServer('scripts/bench/bare-server.ts', env);

let failed = false;
let auth: AuthScenarios | undefined;
try {
  auth = await authScenarios(app.url, env);
  console.log(`bench: ${ROUNDS} interleaved rounds per scenario, 5 s each, 50 connections\n`);
  for (const scenario of [...scenarios, auth.me]) {
    const appRuns: Measurement[] = [];
    const bareRuns: Measurement[] = [];
    const { headers } = scenario;
    for (let round = 0; round < ROUNDS; round += 1) {
      bareRuns.push(await measure({ url: bare.url + scenario.path, headers }));
      appRuns.push(await measure({ url: app.url + scenario.path, headers }));
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
    if (scenario === auth.me) await measureLibraryFloors(b);
  }
  console.log('POST /v0/auth/login storm');
  const storm = await auth.loginStorm(ROUNDS);
  for (const line of storm.lines) console.log(`  ${line}`);
  console.log('');
  if (!storm.ok) failed = true;
  console.log('POST /v0/user/me/profile-image storm');
  const images = await runImagesBench(app.url, { ...env, BENCH_ROUNDS: String(ROUNDS) });
  for (const line of images.lines) console.log(`  ${line}`);
  console.log('');
  if (!images.ok) failed = true;
} finally {
  await auth?.close();
  await app.stop();
  await bare.stop();
}

/** Informational: how close the libraries alone come to bare Express on the signed-in read. */
async function measureLibraryFloors(bare: Measurement): Promise<void> {
  console.log('  library floors for the same request (no kit code; for comparison, no target)');
  for (const { name, floor } of libraryFloors) {
    const server = await startServer('scripts/bench/library-floor-server.ts', {
      ...env,
      FLOOR: floor,
    });
    try {
      const headers = { cookie: await floorCookie(server) };
      const runs: Measurement[] = [];
      for (let round = 0; round < ROUNDS; round += 1) {
        runs.push(await measure({ url: `${server.url}/v0/user/me`, headers }));
      }
      const f = best(runs);
      const ratio = f.requestsPerSecond / bare.requestsPerSecond;
      console.log(`  ${name}`);
      console.log(`    ${format(f)}  ratio ${ratio.toFixed(2)}  non-2xx ${f.non2xx}`);
    } finally {
      await server.stop();
    }
  }
  console.log('');
}

console.log('jobs: outbox → relay → JetStream → no-op consumer');
const jobs = await runJobsBench({ ...stack, BENCH_ROUNDS: String(ROUNDS) });
for (const line of jobs.lines) console.log(`  ${line}`);
if (!jobs.ok) failed = true;
process.exit(failed ? 1 : 0);
