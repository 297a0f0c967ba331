import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { components } from '../../client/src/index.ts';
import { newId } from '../../src/shared/db/ids.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { clientFor, signedInClient } from '../support/client.ts';
import { createUser } from '../support/factories.ts';
import { eventually } from '../support/wait.ts';
import { recordLog, recordLogs } from './support/action-log-factory.ts';

type ActionLog = components['schemas']['ActionLog'];
type Query = NonNullable<Parameters<ReturnType<typeof clientFor>['GET']>[1]>['params'];

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app.close();
});

async function list(query: Record<string, unknown>) {
  const { data, error, response } = await clientFor(app).GET('/v0/action-logs', {
    params: { query } as Query,
  });
  return { data, error, status: response.status };
}

const ids = (logs: { id: string }[] | undefined) => logs?.map((log) => log.id);

/** Reads go to the replica, so a test waits until its newest entry has reached it. */
async function untilListed(query: Record<string, unknown>, newest: ActionLog): Promise<void> {
  await eventually(async () => (await list(query)).data?.data[0]?.id === newest.id, 10_000);
}

describe('GET /v0/action-logs', () => {
  it('When a user logs in and logs out through the API, then each change is listed newest first with its actor and IP', async () => {
    const { user, password } = await createUser(app.deps);
    const api = await signedInClient(app, { email: user.email, password: password! });
    await api.POST('/v0/auth/logout');

    await eventually(async () => (await list({ actor_id: user.id })).data?.data.length === 2);
    const { data } = await list({ actor_id: user.id });

    expect(data?.data.map((log) => log.action)).toEqual(['auth:logout', 'auth:login']);
    for (const log of data!.data) {
      expect(log).toMatchObject({
        actor_id: user.id,
        actor_ip: expect.stringMatching(/127\.0\.0\.1/) as unknown,
        resource_type: 'user',
        resource_id: user.id,
      });
    }
    expect(data).toMatchObject({ has_older: false, has_newer: false });
  });

  it('When filters are given, then only entries matching all of them are listed', async () => {
    const { user } = await createUser(app.deps);
    const post = newId();
    const base = { actor_id: user.id, resource_id: post };
    const edits = await recordLogs(app.deps, 2, { ...base, action: 'post:edit' });
    const deletion = await recordLog(app.deps, { ...base, action: 'post:delete' });
    const profile = await recordLog(app.deps, {
      actor_id: user.id,
      action: 'user:edit',
      resource_type: 'user',
      resource_id: user.id,
    });
    await recordLog(app.deps, { resource_id: post, action: 'post:edit' });
    await untilListed({ actor_id: user.id }, profile);

    expect(ids((await list({ actor_id: user.id })).data?.data)).toEqual(
      ids([...edits, deletion, profile].reverse()),
    );
    expect(ids((await list({ actor_id: user.id, resource_type: 'user' })).data?.data)).toEqual([
      profile.id,
    ]);
    expect(
      ids((await list({ actor_id: user.id, resource_id: post, action: 'post:edit' })).data?.data),
    ).toEqual(ids([...edits].reverse()));
    expect(
      ids(
        (await list({ resource_type: 'post', action: 'post:delete', actor_id: user.id })).data
          ?.data,
      ),
    ).toEqual([deletion.id]);
    expect((await list({ resource_id: newId() })).data).toEqual({
      data: [],
      has_older: false,
      has_newer: false,
    });
  });

  it('When paging older and then newer with the ends of each page, then every entry comes once, newest first, and has_older and has_newer tell what lies beyond', async () => {
    const resource = { resource_id: newId() };
    const logs = await recordLogs(app.deps, 5, resource);
    const [l1, l2, l3, l4, l5] = logs;
    await untilListed(resource, l5!);

    const first = await list({ ...resource, limit: 2 });
    expect(first.data).toEqual({ data: [l5, l4], has_older: true, has_newer: false });

    const second = await list({ ...resource, limit: 2, cursor: l4!.id });
    expect(second.data).toEqual({ data: [l3, l2], has_older: true, has_newer: true });

    const last = await list({ ...resource, limit: 2, cursor: l2!.id, direction: 'older' });
    expect(last.data).toEqual({ data: [l1], has_older: false, has_newer: true });

    const back = await list({ ...resource, limit: 2, cursor: l1!.id, direction: 'newer' });
    expect(back.data).toEqual({ data: [l3, l2], has_older: true, has_newer: true });

    const top = await list({ ...resource, limit: 2, cursor: l3!.id, direction: 'newer' });
    expect(top.data).toEqual({ data: [l5, l4], has_older: true, has_newer: false });

    const beyond = await list({ ...resource, limit: 2, cursor: l5!.id, direction: 'newer' });
    expect(beyond.data).toEqual({ data: [], has_older: true, has_newer: false });
  });

  it('When an entry is written between page requests, then paging on towards older neither skips nor repeats one, and paging newer finds the new one', async () => {
    const resource = { resource_id: newId() };
    const logs = await recordLogs(app.deps, 3, resource);
    await untilListed(resource, logs[2]!);

    const first = await list({ ...resource, limit: 2 });
    const added = await recordLog(app.deps, resource);
    await untilListed(resource, added);
    const second = await list({ ...resource, limit: 2, cursor: first.data!.data[1]!.id });
    const newer = await list({
      ...resource,
      limit: 2,
      cursor: first.data!.data[0]!.id,
      direction: 'newer',
    });

    expect([...ids(first.data?.data)!, ...ids(second.data?.data)!]).toEqual(
      ids([...logs].reverse()),
    );
    expect(second.data?.has_older).toBe(false);
    expect(newer.data).toEqual({ data: [added], has_older: true, has_newer: false });
  });

  it.each([
    ['a cursor that is not an id', { cursor: 'not-an-id' }],
    ['a limit of 0', { limit: 0 }],
    ['a limit over 100', { limit: 101 }],
    ['an unknown direction', { direction: 'sideways' }],
    ['an unknown action', { action: 'post:explode' }],
    ['an unknown resource type', { resource_type: 'comment' }],
    ['an actor id that is not an id', { actor_id: 'alice' }],
    ['a resource id that is not an id', { resource_id: '42' }],
    ['an unknown parameter', { page: 2 }],
  ])(
    'When the query has %s, then it is refused with 400 general:validation_error',
    async (_, query) => {
      const { status, error } = await list(query);

      expect(status).toBe(400);
      expect(error?.code).toBe('general:validation_error');
    },
  );
});
