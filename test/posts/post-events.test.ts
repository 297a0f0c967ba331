import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subscribe } from '../eventstream/support/subscriber.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { eventually } from '../support/wait.ts';
import { author, publish } from './support.ts';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app.close();
});

describe('post changes in the action log and the event stream', () => {
  it('When an author creates, edits and deletes a post, then each change is listed and streamed live as post:create, post:edit and post:delete', async () => {
    const { user, client } = await author(app);
    const stream = subscribe(app, { actor_id: user.id, resource_type: 'post' });
    // The stream may not be open yet when the first post is made: posts go on until one
    // arrives, and the last one made is the one taken through edit and delete.
    let postId = '';
    await eventually(async () => {
      if (stream.received.length === 0) postId = (await publish(client, 'Streamed post')).id;
      return stream.received.length > 0;
    }, 15_000);

    expect(
      (
        await client.PATCH('/v0/posts/{id}', {
          params: { path: { id: postId } },
          body: { title: 'Edited' },
        })
      ).response.status,
    ).toBe(200);
    expect(
      (await client.DELETE('/v0/posts/{id}', { params: { path: { id: postId } } })).response.status,
    ).toBe(204);
    await eventually(() => stream.received.some((log) => log.action === 'post:delete'), 15_000);
    await stream.close();

    const ofPost = stream.received.filter((log) => log.resource_id === postId);
    expect(ofPost.map((log) => log.action)).toEqual(['post:create', 'post:edit', 'post:delete']);
    const listed = await client.GET('/v0/action-logs', {
      params: { query: { resource_id: postId } },
    });
    expect(listed.data?.data.map((log) => log.action)).toEqual([
      'post:delete',
      'post:edit',
      'post:create',
    ]);
  });
});
