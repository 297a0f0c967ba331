import { request, type ClientRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.ts';

let app: TestApp | undefined;
const held: ClientRequest[] = [];

afterEach(async () => {
  for (const req of held.splice(0)) req.destroy();
  await app?.close();
  app = undefined;
});

/**
 * Starts a POST whose body never completes, so the request occupies its place in the
 * stability layer (admitted or queued) until the test lets go of it.
 */
function holdRequest(baseUrl: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(`${baseUrl}/v0/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': '1000' },
    });
    req.on('response', (res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    req.on('error', (error) => {
      if (!req.destroyed) reject(error);
    });
    req.write('{"email":');
    held.push(req);
  });
}

async function waitFor(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('stability layer', () => {
  it('When the limit and the queue are full, then the next request gets 503 system:overloaded at once', async () => {
    app = await startTestApp({
      stability: { concurrencyLimit: 1, bufferSize: 1, timeoutMs: 30_000 },
    });
    const { stability } = app.built;
    void holdRequest(app.baseUrl).catch(() => undefined);
    await waitFor(() => stability.state.inFlight === 1);
    void holdRequest(app.baseUrl).catch(() => undefined);
    await waitFor(() => stability.state.queued === 1);

    const response = await fetch(`${app.baseUrl}/v0/posts`);
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('1');
    expect(await response.json()).toMatchObject({ status: 503, code: 'system:overloaded' });
  });

  it('When the service is overloaded, then health probes still answer', async () => {
    app = await startTestApp({
      stability: { concurrencyLimit: 1, bufferSize: 1, timeoutMs: 30_000 },
    });
    const { stability } = app.built;
    void holdRequest(app.baseUrl).catch(() => undefined);
    void holdRequest(app.baseUrl).catch(() => undefined);
    await waitFor(() => stability.state.inFlight === 1 && stability.state.queued === 1);

    expect((await fetch(`${app.baseUrl}/health-check`)).status).toBe(204);
  });

  it('When a queued request gets a free slot, then it is served', async () => {
    app = await startTestApp({
      stability: { concurrencyLimit: 1, bufferSize: 4, timeoutMs: 30_000 },
    });
    const { stability } = app.built;
    void holdRequest(app.baseUrl).catch(() => undefined);
    await waitFor(() => stability.state.inFlight === 1);

    const queued = fetch(`${app.baseUrl}/v0/users/handle/some_handle/available`);
    await waitFor(() => stability.state.queued === 1);
    held.shift()?.destroy();

    const response = await queued;
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ available: expect.any(Boolean) as boolean });
    await waitFor(() => stability.state.inFlight === 0 && stability.state.queued === 0);
  });

  it('When a request does not finish within the timeout, then it gets 503 system:timeout', async () => {
    app = await startTestApp({
      stability: { concurrencyLimit: 10, bufferSize: 10, timeoutMs: 300 },
    });
    const started = Date.now();
    const result = await holdRequest(app.baseUrl);
    expect(result.status).toBe(503);
    expect(result.body).toMatchObject({ status: 503, code: 'system:timeout' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    await waitFor(() => app!.built.stability.state.inFlight === 0);
  });
});
