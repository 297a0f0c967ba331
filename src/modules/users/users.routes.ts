import { requestIp } from '../../http/request-ip.ts';
import { route } from '../../http/typed-handler.ts';
import { currentAuth, requireSession } from '../auth/session/session.port.ts';
import type { UsersService } from './users.service.ts';

/** One answer for every accepted sign-up, new address or known one (no enumeration). */
const SIGN_UP_MESSAGE = 'Check your inbox to verify your email address.';

export function usersRoutes(users: UsersService) {
  return [
    route('createUser', async ({ body, req }) => {
      await users.register(body, req.ip ?? null);
      return { status: 201, body: { message: SIGN_UP_MESSAGE } };
    }),

    route('getProfileByHandle', async ({ query }) => ({
      status: 200,
      body: await users.getProfileByHandle(query.handle),
    })),

    route('getProfileById', async ({ query }) => ({
      status: 200,
      body: await users.getProfileById(query.user_id),
    })),

    route('checkHandleAvailable', async ({ params }) => ({
      status: 200,
      body: { available: await users.isHandleAvailable(params.handle) },
    })),

    route(
      'updateMe',
      async ({ body, req }) => ({
        status: 200,
        body: await users.updateMe(currentAuth(req).userId, body, requestIp(req)),
      }),
      [requireSession],
    ),
  ];
}
