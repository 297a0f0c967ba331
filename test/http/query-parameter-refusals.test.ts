import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.ts';

// The ajv the contract validator itself loads, not whichever the project resolves.
const validatorRequire = createRequire(
  createRequire(import.meta.url).resolve('express-openapi-validator'),
);

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

  it('When the validator\'s own request ajv coerces "Infinity" for a bounded integer, then it still passes the bound (ajv-validator/ajv#2212): once this fails, refuseNonFiniteParameters can go', () => {
    const { createRequestAjv } = validatorRequire('./framework/ajv') as {
      createRequestAjv: (
        document: object,
        options: object,
      ) => { compile: (schema: object) => (data: unknown) => boolean };
    };
    // As the request validator builds it: coercion on for parameters, whatever the app asks.
    const ajv = createRequestAjv(
      { openapi: '3.1.0', info: { title: 'finite', version: '1' }, paths: {} },
      { coerceTypes: true, allErrors: true, formats: {} },
    );
    const validate = ajv.compile({
      type: 'object',
      properties: { page: { type: 'integer', minimum: 1, maximum: 1000 } },
    });
    const query: { page: unknown } = { page: 'Infinity' };

    expect(validate(query)).toBe(true);
    expect(query.page).toBe(Infinity);
  });
});

// The validator dropped these keys unread, so the request passed with a forbidden parameter.
describe('query keys with brackets the validator cannot read as nested keys', () => {
  it.each(['/v0/posts?%5BR=1', '/v0/posts?limit=5&%5Bx%5D=1', '/v0/posts?T%26a%5Bb=1'])(
    'When %s is asked, then 400 general:validation_error',
    async (path) => {
      const { status, body } = await answer(path);

      expect([status, body.code]).toEqual([400, 'general:validation_error']);
    },
  );

  it('When only known parameters are asked, then the listing answers', async () => {
    const { status } = await answer('/v0/posts?limit=5');

    expect(status).toBe(200);
  });
});
