import mjml2html from 'mjml';
import type {
  EmailContext,
  EmailPayload,
  EmailTemplate,
  EmailTemplateName,
  EmailVars,
} from './email-template.ts';
import { emailTemplates } from './email-templates.ts';

export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
}

export interface EmailRenderer {
  render(payload: EmailPayload): RenderedEmail;
}

export interface CompiledTemplate {
  html: string;
  text: string;
}

const PLACEHOLDER = /\{\{(\w+)\}\}/g;

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

/** A header is one line: a title carrying CR/LF must not be able to start another header. */
function oneLine(value: string): string {
  return value.replace(/\p{Cc}+/gu, ' ').trim();
}

function placeholdersIn(source: string): Set<string> {
  return new Set(Array.from(source.matchAll(PLACEHOLDER), (m) => m[1] ?? ''));
}

/** Fills in one pass, so a value that itself contains `{{…}}` is left as text. */
function fill(
  source: string,
  values: Record<string, string>,
  encode: (value: string) => string,
): string {
  return source.replace(PLACEHOLDER, (_match, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`email placeholder {{${name}}} has no value`);
    return encode(value);
  });
}

/** Compiles the MJML and checks that the MJML and text use exactly the declared placeholders. */
export async function compileEmailTemplate(
  name: string,
  template: Pick<EmailTemplate<EmailTemplateName>, 'placeholders' | 'mjml' | 'text'>,
): Promise<CompiledTemplate> {
  // strict: an invalid template stops the worker at start instead of sending broken mail.
  const { html } = await mjml2html(template.mjml, {
    validationLevel: 'strict',
    keepComments: false,
    // No web-font links: mail clients block them and they leak the reader's IP.
    fonts: {},
  });
  const declared = new Set(template.placeholders);
  for (const [part, source] of [
    ['html', html],
    ['text', template.text],
  ] as const) {
    const used = placeholdersIn(source);
    const unknown = [...used].filter((p) => !declared.has(p));
    const unused = [...declared].filter((p) => !used.has(p));
    if (unknown.length > 0 || unused.length > 0) {
      const problems = `unknown [${unknown.join(', ')}], unused [${unused.join(', ')}]`;
      throw new Error(`email template ${name} (${part}) placeholders: ${problems}`);
    }
  }
  return { html, text: template.text };
}

/**
 * Compiles every template's MJML once (the worker calls this at start, so a broken template
 * fails the start, not a send), then renders jobs by filling placeholders: HTML-escaped in the
 * HTML part, verbatim in the text part.
 */
export async function createEmailRenderer(ctx: EmailContext): Promise<EmailRenderer> {
  const names = Object.keys(emailTemplates) as EmailTemplateName[];
  const compiled = Object.fromEntries(
    await Promise.all(
      names.map(async (name) => [name, await compileEmailTemplate(name, emailTemplates[name])]),
    ),
  ) as Record<EmailTemplateName, CompiledTemplate>;

  function render<T extends EmailTemplateName>(name: T, vars: EmailVars<T>): RenderedEmail {
    const template: EmailTemplate<T> = emailTemplates[name];
    const { html, text } = compiled[name];
    const values = template.values(vars, ctx);
    return {
      subject: oneLine(template.subject(vars, ctx)),
      html: fill(html, values, escapeHtml),
      text: fill(text, values, (value) => value),
    };
  }

  return {
    render: (payload) => render(payload.template, payload.vars),
  };
}
