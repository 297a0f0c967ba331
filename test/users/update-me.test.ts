import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobStreams } from '../../src/shared/constants/jobs.ts';
import { redisKeys } from '../../src/shared/constants/redis-keys.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { clientFor, signedInClient } from '../support/client.ts';
import { createUser } from '../support/factories.ts';

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app.close();
});

async function signedInUser() {
  const { user, password } = await createUser(app.deps, { bio: 'Before.' });
  const client = await signedInClient(app, { email: user.email, password: password! });
  return { user, client };
}

const editLogsOf = (userId: string) =>
  app.deps.db
    .write('action_logs')
    .where({ action: 'user:edit', resource_id: userId })
    .select<{ actor_id: string; metadata: { fields: string[] } }[]>('actor_id', 'metadata');

const indexJobsFor = async (userId: string) =>
  (
    await app.deps.db
      .write('outbox')
      .where({ subject: jobStreams.indexUser.subject })
      .whereRaw("payload->>'user_id' = ?", [userId])
      .select<{ payload: unknown }[]>('payload')
  ).map((row) => row.payload);

describe('PATCH /v0/user/me', () => {
  it('When the display name and bio change, then Me comes back changed, the next read shows it, and the edit is logged and reindexed', async () => {
    const { user, client } = await signedInUser();
    // Warm the snapshot cache, so a missed invalidation would show the old name below.
    await client.GET('/v0/user/me');
    expect(await app.deps.redis.cache.get(redisKeys.userSnapshot(user.id))).not.toBeNull();

    const { data, response } = await client.PATCH('/v0/user/me', {
      body: { display_name: 'Ada King', bio: 'Counts things.' },
    });

    expect(response.status).toBe(200);
    expect(data).toMatchObject({
      id: user.id,
      handle: user.handle,
      email: user.email,
      display_name: 'Ada King',
      bio: 'Counts things.',
    });
    expect((await client.GET('/v0/user/me')).data).toEqual(data);
    expect(await editLogsOf(user.id)).toEqual([
      { actor_id: user.id, metadata: { fields: ['bio', 'display_name'] } },
    ]);
    expect(await indexJobsFor(user.id)).toEqual([{ user_id: user.id, action: 'index' }]);
  });

  it('When only the bio is sent as null, then the bio is cleared and the display name kept', async () => {
    const { user, client } = await signedInUser();

    const { data } = await client.PATCH('/v0/user/me', { body: { bio: null } });

    expect(data).toMatchObject({ bio: null, display_name: user.display_name });
    const row = await app.deps.db.write('users').where({ id: user.id }).first<{ bio: unknown }>();
    expect(row.bio).toBeNull();
    expect(await editLogsOf(user.id)).toEqual([
      { actor_id: user.id, metadata: { fields: ['bio'] } },
    ]);
  });

  it.each([
    ['an empty body', {}],
    ['an empty display name', { display_name: '' }],
    ['a display name of 51 characters', { display_name: 'x'.repeat(51) }],
    ['a control character', { display_name: 'Ada\u0007King' }],
    ['a zero-width space', { display_name: 'Ada\u200bKing' }],
    ['a bidirectional override', { display_name: '\u202eAda' }],
    ['a byte order mark', { display_name: '\ufeffAda' }],
    ['a bio of 501 characters', { bio: 'x'.repeat(501) }],
    ['an unknown field', { handle: 'renamed' }],
  ])(
    'When the body has %s, then 400 general:validation_error and nothing changes',
    async (_case, body) => {
      const { user, client } = await signedInUser();

      const { error, response } = await client.PATCH('/v0/user/me', { body: body as never });

      expect(response.status).toBe(400);
      expect(error?.code).toBe('general:validation_error');
      const row = await app.deps.db
        .write('users')
        .where({ id: user.id })
        .first<{ display_name: string; bio: string }>();
      expect(row).toMatchObject({ display_name: user.display_name, bio: 'Before.' });
      expect(await editLogsOf(user.id)).toEqual([]);
    },
  );

  it('When the display name has 50 characters of any script, emoji included, then it is accepted', async () => {
    const { client } = await signedInUser();
    const name = `Zoë 山田 🎉 ${'x'.repeat(41)}`;

    const { data, response } = await client.PATCH('/v0/user/me', { body: { display_name: name } });

    expect(response.status).toBe(200);
    expect(data?.display_name).toBe(name);
  });

  it('When nobody is signed in, then 401 auth:unauthorized', async () => {
    const { error, response } = await clientFor(app).PATCH('/v0/user/me', {
      body: { display_name: 'Nobody' },
    });

    expect(response.status).toBe(401);
    expect(error?.code).toBe('auth:unauthorized');
  });
});
