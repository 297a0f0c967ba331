import { establishSession } from './session/session.port.ts';
import { route } from '../../http/typed-handler.ts';
import type { VerificationService } from './verification.service.ts';

export function verificationRoutes(verification: VerificationService) {
  return [
    // Following the emailed link proves the address and signs the user in on this browser.
    route('verifyEmail', async ({ body, req }) => {
      const { userId } = await verification.verifyEmail(body.token);
      await establishSession(req, { userId, rememberMe: false });
      return { status: 204 };
    }),

    route('resendVerificationEmail', async ({ body }) => {
      await verification.resendVerificationEmail(body.email);
      return { status: 204 };
    }),
  ];
}
