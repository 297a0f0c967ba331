import { requestIp } from '../../http/request-ip.ts';
import { route } from '../../http/typed-handler.ts';
import { requireSession, signedInUser } from '../auth/session/session.port.ts';
import type { Request } from 'express';
import type { PostActor, PostsService } from './posts.service.ts';

async function actorOf(req: Request): Promise<PostActor> {
  return { user: await signedInUser(req), ip: requestIp(req) };
}

export function postsRoutes(posts: PostsService) {
  return [
    route(
      'createPost',
      async ({ body, req }) => ({
        status: 201,
        body: await posts.create(await actorOf(req), body),
      }),
      [requireSession],
    ),

    route('listPosts', async ({ query }) => ({
      status: 200,
      body: await posts.list({ ...query, limit: query.limit ?? 20 }),
    })),

    route('getPost', async ({ params }) => ({ status: 200, body: await posts.get(params.id) })),

    route(
      'updatePost',
      async ({ params, body, req }) => ({
        status: 200,
        body: await posts.update(await actorOf(req), params.id, body),
      }),
      [requireSession],
    ),

    route(
      'deletePost',
      async ({ params, req }) => {
        await posts.delete(await actorOf(req), params.id);
        return { status: 204 };
      },
      [requireSession],
    ),
  ];
}
