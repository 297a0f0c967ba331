import { currentAuth, requireSession } from './session/session.port.ts';
import { route } from '../../http/typed-handler.ts';
import type { AccountEmailService } from './account-email.service.ts';
import type { EmailChangeService } from './email-change.service.ts';
import type { PasswordFlowsService } from './password-flows.service.ts';

/** Password reset and change, and email change: the account's credentials. */
export function accountRoutes(
  passwords: PasswordFlowsService,
  emails: EmailChangeService,
  accountEmails: AccountEmailService,
) {
  return [
    // 204 whatever the address: the worker decides whether it gets a link (no enumeration).
    route('forgotPassword', async ({ body }) => {
      await accountEmails.request('password_reset', body.email);
      return { status: 204 };
    }),

    route('resetPassword', async ({ body }) => {
      await passwords.resetPassword(body.token, body.new_password);
      return { status: 204 };
    }),

    route(
      'changePassword',
      async ({ body, req }) => {
        const { userId, sessionId } = currentAuth(req);
        await passwords.changePassword({
          userId,
          sessionId,
          currentPassword: body.current_password,
          newPassword: body.new_password,
        });
        return { status: 204 };
      },
      [requireSession],
    ),

    route(
      'changeEmail',
      async ({ body, req }) => {
        await emails.changeEmail({
          userId: currentAuth(req).userId,
          password: body.password,
          newEmail: body.new_email,
        });
        return { status: 204 };
      },
      [requireSession],
    ),

    route('confirmEmailChange', async ({ body }) => {
      await emails.confirmEmailChange(body.token);
      return { status: 204 };
    }),
  ];
}
