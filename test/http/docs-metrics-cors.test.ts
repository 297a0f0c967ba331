import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operations } from '../../src/generated/operations.ts';
import { startTestApp, type TestApp } from '../support/app.ts';

/** An answer that carries no CORS grant, only `Vary: Origin`. */
function expectVaryOnly(response: Response) {
  expect(response.status).toBe(200);
  expect(response.headers.get('vary')).toContain('Origin');
  for (const header of [
    'access-control-allow-origin',
    'access-control-allow-credentials',
    'access-control-expose-headers',
  ]) {
    expect(response.headers.get(header)).toBeNull();
  }
}

describe('docs, metrics and CORS with the development defaults', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({
      http: { apiDocsEnabled: true, metricsEnabled: true, corsAllowedOrigins: ['http://app.test'] },
    });
  });
  afterAll(async () => {
    await app.close();
  });

  it('When /openapi.json is fetched, then it is the contract', async () => {
    const response = await fetch(`${app.baseUrl}/openapi.json`);
    expect(response.status).toBe(200);
    const contract = (await response.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(contract.openapi).toMatch(/^3\.1/);
    expect(Object.keys(contract.paths)).toContain('/v0/posts/{id}');
  });

  it('When /openapi.json is read, then each operation lists its error codes and the server is this one, while the validator keeps the contract as written', async () => {
    const response = await fetch(`${app.baseUrl}/openapi.json`);
    const served = (await response.json()) as {
      servers: unknown;
      paths: Record<string, Record<string, { description: string; 'x-error-codes': string[] }>>;
    };
    expect(served.servers).toEqual([{ url: '/', description: 'This server' }]);
    for (const op of operations) {
      const { description, 'x-error-codes': codes } = served.paths[op.path]![op.method]!;
      for (const code of codes) expect(description).toContain(`- \`${code}\` (`);
    }
    expect(JSON.stringify(app.built.contract)).not.toContain('x-error-codes`):');
  });

  it('When /docs is opened, then Swagger UI is served', async () => {
    const response = await fetch(`${app.baseUrl}/docs/`);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('swagger-ui');
    // A page: it gets the document headers the JSON answers go without.
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    expect(response.headers.get('cross-origin-opener-policy')).toBe('same-origin');
  });

  it('When requests were served, then /metrics exposes their histogram by route template', async () => {
    expect((await fetch(`${app.baseUrl}/v0/users/handle/some_handle/available`)).status).toBe(200);
    const response = await fetch(`${app.baseUrl}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    expect(text).toMatch(
      /http_request_duration_seconds_count\{method="GET",route="\/v0\/users\/handle\/\{handle\}\/available",status="200"\} 1/,
    );
  });

  it('When an allowed origin calls, then CORS allows it with credentials', async () => {
    const response = await fetch(`${app.baseUrl}/v0/posts`, {
      headers: { origin: 'http://app.test' },
    });
    expect(response.headers.get('access-control-allow-origin')).toBe('http://app.test');
    expect(response.headers.get('access-control-allow-credentials')).toBe('true');
    expect(response.headers.get('access-control-expose-headers')).toContain('X-Request-ID');
    expect(response.headers.get('vary')).toContain('Origin');
  });

  it('When a request has no Origin, then of CORS it gets only Vary: Origin', async () => {
    const response = await fetch(`${app.baseUrl}/v0/posts`);
    expectVaryOnly(response);
  });

  it('When another origin calls, then no CORS grant is sent, only Vary: Origin, and its OPTIONS reaches the API', async () => {
    const response = await fetch(`${app.baseUrl}/v0/posts`, {
      headers: { origin: 'http://evil.test' },
    });
    expectVaryOnly(response);
    const preflight = await fetch(`${app.baseUrl}/v0/posts`, {
      method: 'OPTIONS',
      headers: { origin: 'http://evil.test', 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(405);
    expect(preflight.headers.get('access-control-allow-methods')).toBeNull();
  });

  it('When a preflight comes from an allowed origin, then it is answered without reaching the API', async () => {
    const response = await fetch(`${app.baseUrl}/v0/posts`, {
      method: 'OPTIONS',
      headers: { origin: 'http://app.test', 'access-control-request-method': 'POST' },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-methods')).toContain('POST');
  });

  it('When an OPTIONS request has no Origin, then it is no preflight and the API answers 405 general:method_not_allowed', async () => {
    const response = await fetch(`${app.baseUrl}/v0/posts`, { method: 'OPTIONS' });
    expect(response.status).toBe(405);
    expect(((await response.json()) as { code: string }).code).toBe('general:method_not_allowed');
    expect(response.headers.get('access-control-allow-methods')).toBeNull();
  });
});

describe('docs and metrics switched off', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ http: { apiDocsEnabled: false, metricsEnabled: false } });
  });
  afterAll(async () => {
    await app.close();
  });

  it('When no origin is allowed, then a cross-origin call gets no CORS header and the answer does not vary by origin', async () => {
    const response = await fetch(`${app.baseUrl}/v0/posts`, {
      headers: { origin: 'http://app.test' },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    expect(response.headers.get('access-control-allow-credentials')).toBeNull();
    expect(response.headers.get('vary')).toBeNull();
  });

  it('When docs are disabled, then /docs and /openapi.json are unknown routes', async () => {
    for (const path of ['/docs/', '/openapi.json']) {
      const response = await fetch(`${app.baseUrl}${path}`);
      expect(response.status).toBe(404);
      expect(await response.json()).toMatchObject({ code: 'general:not_found' });
    }
  });

  it('When metrics are disabled, then /metrics answers 404 general:not_found', async () => {
    const response = await fetch(`${app.baseUrl}/metrics`);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ code: 'general:not_found' });
  });
});
