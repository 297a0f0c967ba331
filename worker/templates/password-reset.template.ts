import { linkEmailTemplate } from './link-email.ts';

export const passwordResetTemplate = linkEmailTemplate<'password_reset'>({
  path: 'resetPassword',
  subject: (projectName) => `Reset your ${projectName} password`,
  intro:
    'Someone asked to reset the password of your {{project_name}} account. Choose a new password with the link below; it works once.',
  button: 'Reset password',
  outro: 'If you did not ask for this, ignore this email: your password stays as it is.',
});
