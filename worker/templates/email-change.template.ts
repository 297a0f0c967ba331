import { linkEmailTemplate } from './link-email.ts';

export const emailChangeTemplate = linkEmailTemplate<'email_change'>({
  path: 'confirmEmailChange',
  subject: (projectName) => `Confirm your new email address for ${projectName}`,
  intro:
    'You asked to use this address for your {{project_name}} account. Confirm the change with the link below; it works once.',
  button: 'Confirm new address',
  outro: 'If you did not ask for this, ignore this email: your account keeps its current address.',
});
