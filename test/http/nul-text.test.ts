import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.ts';
import { author, publish } from '../posts/support.ts';

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app.close();
});

// PostgreSQL text cannot hold U+0000: stored or searched, it failed the statement (500/502).
describe('text with a NUL character', () => {
  it('When a post is created or edited with a NUL in its title or content, then 400 general:validation_error and nothing is stored', async () => {
    const { user, client } = await author(app);
    const post = await publish(client, 'Clean title');

    for (const body of [
      { title: 'a\u0000b', content: 'c' },
      { title: 'ab', content: 'c\u0000d' },
    ]) {
      const created = await client.POST('/v0/posts', { body });
      expect([created.response.status, created.error?.code]).toEqual([
        400,
        'general:validation_error',
      ]);
      const edited = await client.PATCH('/v0/posts/{id}', {
        params: { path: { id: post.id } },
        body,
      });
      expect([edited.response.status, edited.error?.code]).toEqual([
        400,
        'general:validation_error',
      ]);
    }
    const titles = await app.deps.db.write('posts').where({ author_id: user.id }).pluck('title');
    expect(titles).toEqual(['Clean title']);
  });

  it('When the bio is set with a NUL, then 400 general:validation_error and the bio is unchanged', async () => {
    const { user, client } = await author(app);

    const { error, response } = await client.PATCH('/v0/user/me', { body: { bio: 'x\u0000y' } });

    expect([response.status, error?.code]).toEqual([400, 'general:validation_error']);
    const row = await app.deps.db
      .write('users')
      .where({ id: user.id })
      .first<{ bio: string | null }>();
    expect(row?.bio).toBeNull();
  });

  it.each(['/v0/search/posts', '/v0/search/users'])(
    'When %s is searched for a NUL, then 400 general:validation_error',
    async (path) => {
      const response = await fetch(`${app.baseUrl}${path}?q=%00`);

      expect([response.status, ((await response.json()) as { code: string }).code]).toEqual([
        400,
        'general:validation_error',
      ]);
    },
  );
});
