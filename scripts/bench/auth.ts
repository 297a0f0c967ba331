import { randomBytes } from 'node:crypto';
import autocannon from 'autocannon';
import { createBenchUser } from './bench-user.ts';

/**
 * The account side of `npm run bench`, against a running app (production mode): a signed-in
 * user for the scenarios that need one, and a POST /v0/auth/login storm: logins per second,
 * while GET /health-check is probed at a steady rate. argon2 runs on libuv's threadpool, so
 * the probe's p99 must stay low; a hash on the event loop would push it to the length of a
 * whole queue of hashes.
 */

const HEALTH_P99_TARGET_MS = 50;
const STORM_CONNECTIONS = 16;
const PROBE_RATE_PER_SECOND = 100;
const DURATION_SECONDS = 5;

export interface AuthScenarios {
  userId: string;
  /** Every cookie the login set, as a browser sends them back. */
  cookie: string;
  loginStorm(rounds: number): Promise<{ lines: string[]; ok: boolean }>;
  close(): Promise<void>;
}

/**
 * 10.x.y.z from a counter with a random start: every bench login comes from its own client,
 * as in a real burst, and runs in quick succession do not share a rate-limit window.
 */
function clientAddresses() {
  let n = randomBytes(3).readUIntBE(0, 3);
  return () => {
    n = (n + 1) & 0xffffff;
    return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
  };
}

/**
 * Creates a verified user straight in the database and logs it in over HTTP. The app must
 * trust the loopback proxy (TRUST_PROXY=loopback): the storm gives every request its own
 * X-Forwarded-For, so the per-IP login limit, still in the path, does not turn the storm into
 * a stream of 429s.
 */
export async function authScenarios(
  baseUrl: string,
  env: NodeJS.ProcessEnv,
): Promise<AuthScenarios> {
  const { userId, credentials, remove } = await createBenchUser(env, 'bench', 'Bench');

  const logIn = (headers: Record<string, string> = {}) =>
    fetch(`${baseUrl}/v0/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(credentials),
    });
  const nextAddress = clientAddresses();
  const login = await logIn({ 'x-forwarded-for': nextAddress() });
  // Every cookie the login set, as a browser sends them back: the session (production names
  // it __Host-session_id) and the anonymous id.
  const cookies = login.headers.getSetCookie().map((entry) => entry.split(';')[0]!);
  const cookie = cookies.join('; ');
  if (login.status !== 204 || !cookies.some((c) => /^(__Host-)?session_id=/.test(c))) {
    throw new Error(`bench login failed: ${login.status} ${await login.text()}`);
  }

  async function stormRound() {
    const [storm, probe] = await Promise.all([
      autocannon({
        url: `${baseUrl}/v0/auth/login`,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(credentials),
        connections: STORM_CONNECTIONS,
        duration: DURATION_SECONDS,
        requests: [
          {
            setupRequest: (request) => ({
              ...request,
              headers: { ...request.headers, 'x-forwarded-for': nextAddress() },
            }),
          },
        ],
      }),
      autocannon({
        url: `${baseUrl}/health-check`,
        connections: 1,
        overallRate: PROBE_RATE_PER_SECOND,
        duration: DURATION_SECONDS,
      }),
    ]);
    // Logins the clients abandoned at the deadline are still queued for a hash slot; one more
    // login waits behind them, so the next round (or the shutdown) starts on an idle server.
    await logIn({ 'x-forwarded-for': nextAddress() });
    return {
      loginsPerSecond: storm['2xx'] / DURATION_SECONDS,
      failed: storm.non2xx + storm.errors + storm.timeouts,
      probeP99Ms: probe.latency.p99,
      probeMaxMs: probe.latency.max,
      probeFailed: probe.non2xx + probe.errors + probe.timeouts,
    };
  }

  return {
    userId,
    cookie,

    async loginStorm(rounds) {
      const results = [];
      for (let round = 0; round < rounds; round += 1) results.push(await stormRound());
      const best = results.reduce((a, b) => (b.probeP99Ms < a.probeP99Ms ? b : a));
      const fastest = Math.max(...results.map((r) => r.loginsPerSecond));
      const failures = results.reduce((sum, r) => sum + r.failed + r.probeFailed, 0);
      const ok = best.probeP99Ms < HEALTH_P99_TARGET_MS && failures === 0;
      return {
        ok,
        lines: [
          `logins ${fastest.toFixed(0).padStart(5)} /s  (${STORM_CONNECTIONS} connections, best of ${rounds})  failed ${failures}`,
          `GET /health-check during the storm: p99 ${best.probeP99Ms} ms, max ${best.probeMaxMs} ms at ${PROBE_RATE_PER_SECOND} req/s (target p99 < ${HEALTH_P99_TARGET_MS} ms) ${ok ? 'ok' : 'BELOW TARGET'}`,
        ],
      };
    },

    close: remove,
  };
}
