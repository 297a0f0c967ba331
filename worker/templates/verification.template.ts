import { linkEmailTemplate } from './link-email.ts';

export const verificationTemplate = linkEmailTemplate<'verification'>({
  path: 'verifyEmail',
  subject: (projectName) => `Verify your email for ${projectName}`,
  intro:
    'Thanks for signing up for {{project_name}}. Confirm that this address is yours to activate your account.',
  button: 'Verify email',
  outro: 'If you did not create an account, ignore this email: nothing happens without the link.',
});
