import { currentAuth, requireSession, sessionSteps } from '../auth/session/session.port.ts';
import { requestIp } from '../../http/request-ip.ts';
import { route } from '../../http/typed-handler.ts';
import type { AuthService } from '../auth/auth.service.ts';
import type { TotpService } from './totp.service.ts';

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

    route('totpVerify', async ({ body, req, res }) => {
      const { userId, rememberMe, summary } = await totp.verifyLogin({
        tempToken: body.temp_token,
        code: body.code,
      });
      await auth.signIn(
        { userId, ip: requestIp(req) },
        sessionSteps(req, res, { userId, rememberMe }),
        summary,
      );
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
