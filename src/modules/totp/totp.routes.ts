import type { Request } from 'express';
import { currentAuth, establishSession, requireSession } from '../../http/session.ts';
import { route } from '../../http/typed-handler.ts';
import { AppError } from '../../shared/errors/app-error.ts';
import type { AuthService } from '../auth/auth.service.ts';
import type { TotpService } from './totp.service.ts';

/** Express always knows the peer of a live request; the action log requires it. */
function requestIp(req: Request): string {
  const ip = req.ip ?? req.socket.remoteAddress;
  if (!ip) throw new AppError('general:bad_request', 'The client address is unknown');
  return ip;
}

export function totpRoutes(totp: TotpService, auth: AuthService) {
  return [
    route(
      'totpSetup',
      async ({ req }) => ({ status: 200, body: await totp.setup(currentAuth(req).userId) }),
      [requireSession],
    ),

    route(
      'totpEnable',
      async ({ body, req }) => ({
        status: 200,
        body: { backup_codes: await totp.enable(currentAuth(req).userId, body.code) },
      }),
      [requireSession],
    ),

    route('totpVerify', async ({ body, req }) => {
      const { userId, rememberMe } = await totp.verifyLogin({
        tempToken: body.temp_token,
        code: body.code,
      });
      await establishSession(req, { userId, rememberMe });
      await auth.recordLogin({ userId, ip: requestIp(req) });
      return { status: 204 };
    }),

    route(
      'totpStatus',
      async ({ req }) => ({ status: 200, body: await totp.status(currentAuth(req).userId) }),
      [requireSession],
    ),

    route(
      'totpDisable',
      async ({ body, req }) => {
        const { userId, sessionId } = currentAuth(req);
        await totp.disable({ userId, sessionId, code: body.code });
        return { status: 204 };
      },
      [requireSession],
    ),

    route(
      'totpRegenerateBackupCodes',
      async ({ body, req }) => ({
        status: 200,
        body: {
          backup_codes: await totp.regenerateBackupCodes(currentAuth(req).userId, body.code),
        },
      }),
      [requireSession],
    ),
  ];
}
