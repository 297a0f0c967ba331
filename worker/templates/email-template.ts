import type { SharedConfig } from '../../src/config/shared.ts';
import type { JobPayload } from '../../src/shared/jobs/payloads.ts';

export type EmailPayload = JobPayload<'email'>;
export type EmailTemplateName = EmailPayload['template'];
export type EmailVars<T extends EmailTemplateName> = Extract<EmailPayload, { template: T }>['vars'];

export interface EmailContext {
  projectName: string;
  frontend: SharedConfig['frontend'];
}

/**
 * One email: MJML and a plain-text part written with `{{name}}` placeholders, and the values
 * that fill them. Values are raw text; the renderer HTML-escapes them for the HTML part only.
 */
export interface EmailTemplate<T extends EmailTemplateName, P extends string = string> {
  /** Every placeholder the MJML and text use; checked against both when templates compile. */
  placeholders: readonly P[];
  mjml: string;
  text: string;
  subject(vars: EmailVars<T>, ctx: EmailContext): string;
  values(vars: EmailVars<T>, ctx: EmailContext): Record<P, string>;
}

/** Infers the placeholder names, so `values` must return exactly the declared ones. */
export function defineEmailTemplate<T extends EmailTemplateName, P extends string>(
  template: EmailTemplate<T, P>,
): EmailTemplate<T, P> {
  return template;
}
