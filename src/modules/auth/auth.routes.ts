import {
  currentAuth,
  destroyCurrentSession,
  requireSession,
  sessionSteps,
  signedInUser,
} from './session/session.port.ts';
import { requestIp } from '../../http/request-ip.ts';
import { route } from '../../http/typed-handler.ts';
import type { AuthService } from './auth.service.ts';
import type { SessionsService } from './sessions.service.ts';

export function authRoutes(auth: AuthService, sessions: SessionsService) {
  return [
    route('login', async ({ body, req, res }) => {
      const rememberMe = body.remember_me ?? false;
      const outcome = await auth.login({ email: body.email, password: body.password, rememberMe });
      if (outcome.kind === 'totp_required') {
        return {
          status: 202,
          body: { totp_required: true as const, temp_token: outcome.tempToken },
        };
      }
      await auth.signIn(
        { userId: outcome.userId, ip: requestIp(req) },
        sessionSteps(req, res, { userId: outcome.userId, rememberMe }),
        'Logged in with a password',
      );
      return { status: 204 };
    }),

    route(
      'logout',
      async ({ req, res }) => {
        const { userId } = currentAuth(req);
        await destroyCurrentSession(req, res);
        await auth.recordLogout({ userId, ip: requestIp(req) });
        return { status: 204 };
      },
      [requireSession],
    ),

    route(
      'listSessions',
      async ({ req }) => {
        const { userId, sessionId } = currentAuth(req);
        return { status: 200, body: { sessions: await sessions.list(userId, sessionId) } };
      },
      [requireSession],
    ),

    route(
      'revokeSession',
      async ({ params, req, res }) => {
        const { userId, sessionId } = currentAuth(req);
        const revoked = await sessions.revoke(userId, params.id);
        // Revoking one's own session is a logout: the cookie goes too.
        if (revoked === sessionId) await destroyCurrentSession(req, res);
        return { status: 204 };
      },
      [requireSession],
    ),

    route('getMe', async ({ req }) => ({ status: 200, body: auth.me(await signedInUser(req)) }), [
      requireSession,
    ]),
  ];
}
