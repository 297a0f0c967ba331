import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/shared/db/ids.ts';
import { startTestApp, type TestApp } from '../support/app.ts';

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app.close();
});

const answer = async (path: string, headers: Record<string, string> = {}) => {
  const response = await fetch(`${app.baseUrl}${path}`, { headers });
  const body = (await response.json()) as { code: string };
  return [response.status, body.code];
};

// ajv-formats' uuid also takes the URN form, which PostgreSQL's uuid type refuses: it passed
// validation and failed the statement with a 500.
describe('an id in the URN form (urn:uuid:…)', () => {
  const urn = `urn:uuid:${newId()}`;
  const encoded = encodeURIComponent(urn);
  const refused = [400, 'general:validation_error'];

  it('When it is given as a path parameter, a query parameter or Last-Event-ID, then 400 general:validation_error', async () => {
    expect(await answer(`/v0/posts/${urn}`)).toEqual(refused);
    expect(await answer(`/v0/posts?author_id=${encoded}`)).toEqual(refused);
    expect(await answer(`/v0/action-logs?actor_id=${encoded}`)).toEqual(refused);
    expect(await answer(`/v0/users/profile/id?user_id=${encoded}`)).toEqual(refused);
    expect(await answer('/v0/eventstream/actions', { 'last-event-id': urn })).toEqual(refused);
  });

  it('When the same id is given plainly, in capitals or not, then it is an id like any other', async () => {
    const id = newId();
    expect(await answer(`/v0/posts/${id}`)).toEqual([404, 'post:not_found']);
    expect(await answer(`/v0/posts/${id.toUpperCase()}`)).toEqual([404, 'post:not_found']);
  });
});
