import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { authScenarios } from './auth.ts';
import { DEEP_PAGE_P99_FACTOR, contentScenarios } from './content.ts';
import { POSTS, seedContent } from './content-seed.ts';
import { runEventStreamBench } from './eventstream.ts';
import {
  runScenario,
  teachBare,
  type HttpScenario,
  type ScenarioResult,
  type ServerName,
  type Servers,
} from './http-scenarios.ts';
import { runImagesBench } from './images.ts';
import { runJobsBench } from './jobs.ts';
import { startCommand } from '../../test/support/start-command.ts';
import { startServer } from './processes.ts';

/**
 * `npm run bench`. Every HTTP scenario is measured against the app, its library floor and
 * bare Express in interleaved rounds (http-scenarios.ts); then the login storm, the live
 * event stream across two instances, each server's memory, and the job path end to end.
 * This machine is noisy, so ratios from one run count, not absolute figures.
 */

const STACK_ENV = '.stack/test/stack.env';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/** The app's resident memory after the whole HTTP load must stay under this. */
const APP_RSS_TARGET_MIB = 256;

/**
 * Brings the test stack up every time: the environment file outlives a stopped stack, and
 * up.sh leaves running services alone (under a second when all are up).
 */
function stackEnv(): Record<string, string> {
  execFileSync('bash', ['scripts/stack/up.sh', '--profile', 'test', '--no-seed'], {
    stdio: 'inherit',
  });
  return parseEnv(readFileSync(STACK_ENV, 'utf8')) as Record<string, string>;
}

async function floorCookie(floorUrl: string, userId: string): Promise<string> {
  const response = await fetch(`${floorUrl}/floor/login?user_id=${userId}`, { method: 'POST' });
  const cookie = response.headers.getSetCookie()[0]?.split(';')[0];
  if (response.status !== 204 || !cookie) throw new Error('library floor login failed');
  return cookie;
}

const stack = stackEnv();
const env: NodeJS.ProcessEnv = {
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
// Production mode (response validation is off there, as it is for real traffic), and every
// server started the way `npm start` starts the app, so their memory compares like for like.
const production = startCommand();
const serverEnv = { ...env, ...production.env };
const start = (entry: string) => startServer(entry, serverEnv, production.flags);
const servers: Servers = {
  app: await start('src/server.ts'),
  floor: await start('scripts/bench/library-floor-server.ts'),
  bare: await start('scripts/bench/bare-server.ts'),
};
const productionCommand = [
  ...Object.entries(production.env).map(([name, value]) => `${name}=${value}`),
  ...production.flags,
].join(' ');
const rssAfterStart = Object.fromEntries(
  Object.entries(servers).map(([name, server]) => [name, server.rssMiB()]),
) as Record<ServerName, number>;

let failed = false;
const report = (lines: string[], ok: boolean) => {
  for (const line of lines) console.log(line);
  console.log('');
  if (!ok) failed = true;
};

const auth = await authScenarios(servers.app.url, env);
console.log(`bench: seeding ${POSTS.toLocaleString('en')} posts…`);
const seeded = await seedContent(env);
const content = await contentScenarios(servers.app.url, auth.cookie, seeded);
try {
  const me: HttpScenario = {
    name: 'GET /v0/user/me (signed in)',
    paths: ['/v0/user/me'],
    headers: {
      app: { cookie: auth.cookie },
      floor: { cookie: await floorCookie(servers.floor.url, auth.userId) },
    },
    floorRatioTarget: 0.8,
  };
  const scenarios: HttpScenario[] = [
    { name: 'GET /health-check', paths: ['/health-check'], bareRatioTarget: 0.85 },
    me,
    content.postById,
    content.firstPage,
    content.deepPage,
    content.search,
  ];
  console.log(`bench: ${ROUNDS} interleaved rounds per scenario and server, 5 s each\n`);
  const results = new Map<HttpScenario, ScenarioResult>();
  for (const scenario of scenarios) {
    if (scenario.paths[0] !== '/health-check') await teachBare(scenario, servers);
    const result = await runScenario(scenario, servers, ROUNDS);
    results.set(scenario, result);
    report(result.lines, result.ok);
  }
  const first = results.get(content.firstPage)!.app.p99Ms;
  const deep = results.get(content.deepPage)!.app.p99Ms;
  const deepOk = deep <= DEEP_PAGE_P99_FACTOR * Math.max(first, 1);
  report(
    [
      `deep page p99 ${deep} ms vs first page p99 ${first} ms: ${(deep / Math.max(first, 1)).toFixed(2)}× (target <= ${DEEP_PAGE_P99_FACTOR}×) ${deepOk ? 'ok' : 'MISSED'}`,
    ],
    deepOk,
  );

  console.log('POST /v0/auth/login storm');
  const storm = await auth.loginStorm(ROUNDS);
  report(
    storm.lines.map((line) => `  ${line}`),
    storm.ok,
  );

  console.log('POST /v0/user/me/profile-image storm');
  const images = await runImagesBench(servers.app.url, { ...env, BENCH_ROUNDS: String(ROUNDS) });
  report(
    images.lines.map((line) => `  ${line}`),
    images.ok,
  );

  const rssAfterLoad = Object.fromEntries(
    Object.entries(servers).map(([name, server]) => [name, server.rssMiB()]),
  ) as Record<ServerName, number>;
  const memoryOk = rssAfterLoad.app < APP_RSS_TARGET_MIB;
  report(
    [
      `memory (RSS, MiB; every server runs with ${productionCommand})`,
      ...(['app', 'floor', 'bare'] as const).map(
        (name) =>
          `  ${name.padEnd(6)} after start ${rssAfterStart[name].toFixed(0).padStart(4)}  after load ${rssAfterLoad[name].toFixed(0).padStart(4)}`,
      ),
      `  app after load < ${APP_RSS_TARGET_MIB} MiB ${memoryOk ? 'ok' : 'MISSED'}`,
    ],
    memoryOk,
  );

  console.log('GET /v0/eventstream/actions');
  const second = await start('src/server.ts');
  try {
    const stream = await runEventStreamBench([servers.app, second], {
      NATS_URL: env.NATS_URL!,
      DATABASE_URL: env.DATABASE_URL!,
    });
    report(
      stream.lines.map((line) => `  ${line}`),
      stream.ok,
    );
  } finally {
    await second.stop();
  }
} finally {
  await content.close();
  await seeded.close();
  await auth.close();
  await Promise.all(Object.values(servers).map((server) => server.stop()));
}

console.log('jobs: outbox → relay → JetStream → no-op consumer');
const jobs = await runJobsBench({ ...stack, BENCH_ROUNDS: String(ROUNDS) });
report(
  jobs.lines.map((line) => `  ${line}`),
  jobs.ok,
);
process.exit(failed ? 1 : 0);
