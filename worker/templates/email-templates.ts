import { emailChangeTemplate } from './email-change.template.ts';
import type { EmailTemplate, EmailTemplateName } from './email-template.ts';
import { noticeTemplate } from './notice.template.ts';
import { passwordResetTemplate } from './password-reset.template.ts';
import { verificationTemplate } from './verification.template.ts';

/** One template per name the email job accepts; a missing one is a type error. */
export const emailTemplates: { [T in EmailTemplateName]: EmailTemplate<T> } = {
  verification: verificationTemplate,
  password_reset: passwordResetTemplate,
  email_change: emailChangeTemplate,
  notice: noticeTemplate,
};
