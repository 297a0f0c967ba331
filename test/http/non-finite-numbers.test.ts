import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.ts';

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app.close();
});

async function answer(path: string) {
  const response = await fetch(`${app.baseUrl}${path}`);
  return { status: response.status, body: (await response.json()) as { code?: string } };
}

describe('numeric query parameters that are not finite', () => {
  it.each([
    '/v0/search/users?page=Infinity',
    '/v0/search/posts?q=engine&page=-Infinity',
    '/v0/search/posts?q=engine&page_size=1e999',
    '/v0/posts?limit=Infinity',
    '/v0/action-logs?limit=-Infinity',
  ])('When %s is asked, then 400 general:validation_error', async (path) => {
    const { status, body } = await answer(path);

    expect([status, body.code]).toEqual([400, 'general:validation_error']);
  });

  it('When a bound is spelled as a finite exponent, then it is read as the number it is', async () => {
    const { status } = await answer('/v0/search/users?page=1e3');

    expect(status).toBe(200);
  });
});
