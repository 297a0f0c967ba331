import { describe, expect, it } from 'vitest';
import { ConfigError } from './env-schema.ts';
import { loadServerConfig } from './server.ts';
import { loadWorkerConfig } from './worker.ts';
import { productionEnv } from '../../test/support/production-env.ts';

function problemsOf(load: () => unknown): string[] {
  try {
    load();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('server configuration', () => {
  it('When nothing is set in development, then it runs on the local stack defaults', () => {
    const config = loadServerConfig({});
    expect(config.env).toBe('development');
    expect(config.http).toMatchObject({ host: '127.0.0.1', port: 8000, apiDocsEnabled: true });
    expect(config.database.readUrl).toBe(config.database.url);
    expect(config.stability).toEqual({
      concurrencyLimit: 500,
      bufferSize: 1024,
      timeoutMs: 30_000,
    });
  });

  it('When nothing is set, then the HTTP timeouts and the shutdown bound take their production defaults', () => {
    const config = loadServerConfig({});
    expect(config.http).toMatchObject({
      keepAliveTimeoutMs: 65_000,
      headersTimeoutMs: 20_000,
      requestTimeoutMs: 120_000,
      maxHeaderBytes: 16_384,
    });
    expect(config.shutdownTimeoutMs).toBe(30_000);
    expect(config.shutdownDelayMs).toBe(0);
  });

  it('When the shutdown delay is not shorter than the shutdown bound, then it is refused', () => {
    const problems = problemsOf(() =>
      loadServerConfig({ SHUTDOWN_DELAY_SECS: '30', SHUTDOWN_TIMEOUT_SECS: '30' }),
    );
    expect(problems).toEqual(['SHUTDOWN_DELAY_SECS: must be less than SHUTDOWN_TIMEOUT_SECS']);
  });

  it('When the header limit is too small for ordinary cookies, then it is refused', () => {
    const problems = problemsOf(() => loadServerConfig({ HTTP_MAX_HEADER_BYTES: '1024' }));
    expect(problems).toEqual(['HTTP_MAX_HEADER_BYTES: must be at least 8192']);
  });

  it('When the headers timeout is longer than the request timeout, then it is refused', () => {
    const problems = problemsOf(() =>
      loadServerConfig({ HTTP_HEADERS_TIMEOUT_MS: '5000', HTTP_REQUEST_TIMEOUT_MS: '4000' }),
    );
    expect(problems).toEqual(['HTTP_HEADERS_TIMEOUT_MS: must not exceed HTTP_REQUEST_TIMEOUT_MS']);
  });

  it('When production is missing variables, then one error lists every one of them', () => {
    const problems = problemsOf(() => loadServerConfig({ NODE_ENV: 'production' }));
    for (const name of [
      'DATABASE_URL',
      'REDIS_SESSION_URL',
      'NATS_URL',
      'SESSION_SECRET',
      'R2_PUBLIC_DOMAIN',
    ]) {
      expect(problems).toContain(`${name}: is required`);
    }
    expect(problems.length).toBeGreaterThanOrEqual(13);
  });

  it('When production lacks the mail settings, then only the worker, which sends mail, refuses', () => {
    const withoutMail = Object.fromEntries(
      Object.entries(productionEnv).filter(([name]) => !['SMTP_HOST', 'EMAIL_FROM'].includes(name)),
    );
    expect(() => loadServerConfig(withoutMail)).not.toThrow();
    expect(problemsOf(() => loadWorkerConfig(withoutMail))).toEqual([
      'SMTP_HOST: is required',
      'EMAIL_FROM: is required',
    ]);
  });

  it('When values are malformed, then each is named with its reason', () => {
    const problems = problemsOf(() =>
      loadServerConfig({ PORT: 'eighty', DATABASE_URL: 'not a url', STABILITY_TIMEOUT_SECS: '-1' }),
    );
    expect(problems.map((p) => p.split(':')[0])).toEqual([
      'DATABASE_URL',
      'PORT',
      'STABILITY_TIMEOUT_SECS',
    ]);
  });

  it('When production uses a placeholder secret or no CORS origins, then it refuses to start', () => {
    const problems = problemsOf(() =>
      loadServerConfig({
        ...productionEnv,
        SESSION_SECRET: 'change-me-change-me-change-me-change-me',
        CORS_ALLOWED_ORIGINS: '',
      }),
    );
    expect(problems).toEqual([
      'CORS_ALLOWED_ORIGINS: is required in production',
      'SESSION_SECRET: is a placeholder; generate a random secret',
    ]);
  });

  it('When production is fully configured, then docs are off and forwarded headers are not trusted', () => {
    const config = loadServerConfig(productionEnv);
    expect(config.http.apiDocsEnabled).toBe(false);
    expect(config.http.trustProxy).toBe(false);
    expect(config.storage.createBuckets).toBe(false);
  });

  it.each([
    ['false', false],
    ['true', true],
    ['2', 2],
    ['loopback', ['loopback']],
    ['10.0.0.0/8', ['10.0.0.0/8']],
    ['loopback, linklocal,uniquelocal', ['loopback', 'linklocal', 'uniquelocal']],
    ['192.0.2.7,2001:db8::/32,::1', ['192.0.2.7', '2001:db8::/32', '::1']],
    ['10.0.0.0/255.0.0.0', ['10.0.0.0/255.0.0.0']],
  ])('When TRUST_PROXY is %j, then Express gets %j', (value, expected) => {
    expect(loadServerConfig({ TRUST_PROXY: value }).http.trustProxy).toEqual(expected);
  });

  it('When TRUST_PROXY is unset, then forwarded headers are not trusted', () => {
    expect(loadServerConfig({}).http.trustProxy).toBe(false);
  });

  it.each(['yes', 'TRUE', '10.0.0.0/33', '300.1.1.1', 'loopback,nonsense', '::1/129', '-1', '1.5'])(
    'When TRUST_PROXY is %j, then start-up is refused with the variable named among the problems',
    (value) => {
      const problems = problemsOf(() => loadServerConfig({ TRUST_PROXY: value, PORT: 'x' }));
      expect(problems).toEqual([
        expect.stringMatching(/^PORT: /),
        expect.stringMatching(/^TRUST_PROXY: /),
      ]);
    },
  );

  it('When NODE_ENV is unknown, then it is refused', () => {
    expect(problemsOf(() => loadServerConfig({ NODE_ENV: 'staging' }))).toEqual([
      'NODE_ENV: must be one of development, test, production',
    ]);
  });

  it('When CRON_LOCK_TTL_SECS is set, then cron locks live that long past a heartbeat; unset, 30 s', () => {
    expect(loadWorkerConfig({ CRON_LOCK_TTL_SECS: '4' }).cron.lockTtlMs).toBe(4000);
    expect(loadWorkerConfig({}).cron.lockTtlMs).toBe(30_000);
  });

  it('When SEARCH_ENGINE is meilisearch without a URL, then it is refused', () => {
    expect(problemsOf(() => loadWorkerConfig({ SEARCH_ENGINE: 'meilisearch' }))).toEqual([
      'MEILISEARCH_URL: is required when SEARCH_ENGINE=meilisearch',
    ]);
  });
});
