import { describe, expect, it } from 'vitest';
import { ConfigError } from './env-schema.ts';
import { loadServerConfig } from './server.ts';
import { loadWorkerConfig } from './worker.ts';

function problemsOf(load: () => unknown): string[] {
  try {
    load();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

const productionBase = {
  NODE_ENV: 'production',
  DATABASE_URL: 'postgres://app@db.internal:5432/app',
  REDIS_SESSION_URL: 'redis://session.internal:6379',
  REDIS_CACHE_URL: 'redis://cache.internal:6379',
  NATS_URL: 'nats://nats.internal:4222',
  S3_CONTENT_ENDPOINT: 'https://s3.internal',
  S3_CONTENT_ACCESS_KEY_ID: 'key',
  S3_CONTENT_SECRET_ACCESS_KEY: 'secret',
  R2_ENDPOINT: 'https://r2.internal',
  R2_ACCESS_KEY_ID: 'key',
  R2_SECRET_ACCESS_KEY: 'secret',
  R2_PUBLIC_DOMAIN: 'https://cdn.example.com',
  SMTP_HOST: 'smtp.internal',
  SMTP_PORT: '587',
  EMAIL_FROM: 'App <no-reply@example.com>',
  FRONTEND_HOST: 'https://app.example.com',
  SESSION_SECRET: 'b7f1c1d0e9a84e4b8a7d6c5b4a39281706f5e4d3c2b1a0',
  TOTP_ENCRYPTION_KEY: '6f0c2d9a41b3e8577a1c4e2f90d3b6a85c7e1f2049d8a3b6c5e7f1a2d4b6c8e0',
  TOTP_SECRET: '3c9e1a7f5b2d8c4e6a0f9b1d7c3e5a2f8b4d6c0e9a1f3b5d',
  CORS_ALLOWED_ORIGINS: 'https://app.example.com',
};

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

  it('When production is missing variables, then one error lists every one of them', () => {
    const problems = problemsOf(() => loadServerConfig({ NODE_ENV: 'production' }));
    for (const name of [
      'DATABASE_URL',
      'REDIS_SESSION_URL',
      'NATS_URL',
      'SESSION_SECRET',
      'SMTP_HOST',
      'R2_PUBLIC_DOMAIN',
    ]) {
      expect(problems).toContain(`${name}: is required`);
    }
    expect(problems.length).toBeGreaterThanOrEqual(15);
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
        ...productionBase,
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
    const config = loadServerConfig(productionBase);
    expect(config.http.apiDocsEnabled).toBe(false);
    expect(config.http.trustProxy).toBe(false);
    expect(config.storage.createBuckets).toBe(false);
  });

  it('When TRUST_PROXY names a hop count or subnets, then Express gets exactly that', () => {
    expect(loadServerConfig({ TRUST_PROXY: '2' }).http.trustProxy).toBe(2);
    expect(loadServerConfig({ TRUST_PROXY: '10.0.0.0/8' }).http.trustProxy).toBe('10.0.0.0/8');
  });

  it('When NODE_ENV is unknown, then it is refused', () => {
    expect(problemsOf(() => loadServerConfig({ NODE_ENV: 'staging' }))).toEqual([
      'NODE_ENV: must be one of development, test, production',
    ]);
  });

  it('When SEARCH_ENGINE is meilisearch without a URL, then it is refused', () => {
    expect(problemsOf(() => loadWorkerConfig({ SEARCH_ENGINE: 'meilisearch' }))).toEqual([
      'MEILISEARCH_URL: is required when SEARCH_ENGINE=meilisearch',
    ]);
  });
});
