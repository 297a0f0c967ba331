import { establishSession } from './session/session.port.ts';
import { route } from '../../http/typed-handler.ts';
import type { AccountEmailService } from './account-email.service.ts';
import type { VerificationService } from './verification.service.ts';

export function verificationRoutes(
  verification: VerificationService,
  accountEmails: AccountEmailService,
) {
  return [
    // Following the emailed link proves the address and signs the user in on this browser.
    route('verifyEmail', async ({ body, req }) => {
      const { userId } = await verification.verifyEmail(body.token);
      await establishSession(req, { userId, rememberMe: false });
      return { status: 204 };
    }),

    // 204 whatever the address: the worker decides whether it gets a link (no enumeration).
    route('resendVerificationEmail', async ({ body }) => {
      await accountEmails.request('verification', body.email);
      return { status: 204 };
    }),
  ];
}
