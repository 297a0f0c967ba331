import {
  currentAuth,
  optionalSession,
  requireSession,
  sessionSteps,
} from '../auth/session/session.port.ts';
import { requestIp } from '../../http/request-ip.ts';
import { route } from '../../http/typed-handler.ts';
import type { AuthService } from '../auth/auth.service.ts';
import type { OAuthSignupService } from './oauth.signup.service.ts';
import type { OAuthService } from './oauth.service.ts';

export function oauthRoutes(oauth: OAuthService, signups: OAuthSignupService, auth: AuthService) {
  return [
    route(
      'oauthAuthorize',
      async ({ params, query, req }) => ({
        status: 200,
        body: {
          auth_url: await oauth.authorize(params.provider, {
            flow: query.flow ?? 'login',
            anonymousId: req.anonymousUserId,
            userId: req.auth?.userId,
          }),
        },
      }),
      [optionalSession],
    ),

    route('oauthLogin', async ({ params, body, req, res }) => {
      const outcome = await oauth.login(params.provider, {
        code: body.code,
        state: body.state,
        anonymousId: req.anonymousUserId,
      });
      if (outcome.kind === 'totp_required') {
        return {
          status: 202,
          body: { totp_required: true as const, temp_token: outcome.tempToken },
        };
      }
      if (outcome.kind === 'pending_signup') {
        return {
          status: 200,
          body: {
            pending_token: outcome.pendingToken,
            email: outcome.email,
            display_name: outcome.displayName,
          },
        };
      }
      await auth.signIn(
        { userId: outcome.userId, ip: requestIp(req) },
        sessionSteps(req, res, { userId: outcome.userId, rememberMe: false }),
        outcome.summary,
      );
      return { status: 204 };
    }),

    route(
      'oauthLink',
      async ({ params, body, req }) => {
        await oauth.link(
          params.provider,
          { code: body.code, state: body.state, anonymousId: req.anonymousUserId },
          { userId: currentAuth(req).userId, ip: requestIp(req) },
        );
        return { status: 204 };
      },
      [requireSession],
    ),

    route(
      'listOauthConnections',
      async ({ req }) => ({
        status: 200,
        body: { connections: await oauth.connections(currentAuth(req).userId) },
      }),
      [requireSession],
    ),

    route(
      'unlinkOauthConnection',
      async ({ body, req }) => {
        const { userId, sessionId } = currentAuth(req);
        await oauth.unlink({ userId, sessionId, ip: requestIp(req), provider: body.provider });
        return { status: 204 };
      },
      [requireSession],
    ),

    route('completeSignup', async ({ body, req, res }) => {
      const { userId, summary } = await signups.complete({
        pendingToken: body.pending_token,
        handle: body.handle,
        actorIp: requestIp(req),
      });
      await auth.signIn(
        { userId, ip: requestIp(req) },
        sessionSteps(req, res, { userId, rememberMe: false }),
        summary,
      );
      return { status: 204 };
    }),
  ];
}
