import { describe, expect, it } from 'vitest';
import {
  compileEmailTemplate,
  createEmailRenderer,
} from '../../worker/templates/email-renderer.ts';
import type { EmailPayload } from '../../worker/templates/email-template.ts';

const ctx = {
  projectName: 'Kit & Co',
  frontend: {
    host: 'https://app.example.test',
    paths: {
      verifyEmail: '/verify',
      resetPassword: '/reset?source=mail',
      confirmEmailChange: '/confirm',
    },
  },
};

const linkVars = { token: 'a b', display_name: 'Ada' };
const payloads: EmailPayload[] = [
  { to: 'a@example.test', template: 'verification', vars: linkVars },
  { to: 'a@example.test', template: 'password_reset', vars: linkVars },
  { to: 'a@example.test', template: 'email_change', vars: linkVars },
  { to: 'a@example.test', template: 'notice', vars: { message: 'Hello' } },
];

const body = (inner: string) =>
  `<mjml><mj-body><mj-section><mj-column>${inner}</mj-column></mj-section></mj-body></mjml>`;

describe('email templates', () => {
  it('When every template is rendered, then no placeholder is left and the project name is escaped in HTML only', async () => {
    const renderer = await createEmailRenderer(ctx);

    for (const payload of payloads) {
      const email = renderer.render(payload);
      expect(email.html, payload.template).not.toMatch(/\{\{\w+\}\}/);
      expect(email.text, payload.template).not.toMatch(/\{\{\w+\}\}/);
      expect(email.html, payload.template).toContain('Kit &amp; Co');
      expect(email.html, payload.template).not.toContain('Kit & Co');
      expect(email.text, payload.template).toContain('-- Kit & Co');
    }
    // A value is filled once: placeholder syntax inside it stays text.
    const braces = renderer.render({
      to: 'a@example.test',
      template: 'notice',
      vars: { message: 'Hello {{title}}' },
    });
    expect(braces.text).toContain('Hello {{title}}');
  });

  it('When a frontend path already has a query, then the token is appended with & and encoded', async () => {
    const renderer = await createEmailRenderer(ctx);

    const email = renderer.render(payloads[1]!);

    expect(email.text).toContain('https://app.example.test/reset?source=mail&token=a%20b');
    expect(email.html).toContain(
      'href="https://app.example.test/reset?source=mail&amp;token=a%20b"',
    );
  });

  it('When a template uses a placeholder it does not declare, then compiling fails and names it', async () => {
    await expect(
      compileEmailTemplate('broken', {
        placeholders: ['name'],
        mjml: body('<mj-text>{{name}} {{nmae}}</mj-text>'),
        text: '{{name}}',
      }),
    ).rejects.toThrow('email template broken (html) placeholders: unknown [nmae], unused []');
  });

  it('When a declared placeholder is missing from the text part, then compiling fails', async () => {
    await expect(
      compileEmailTemplate('partial', {
        placeholders: ['name', 'url'],
        mjml: body('<mj-text>{{name}} {{url}}</mj-text>'),
        text: '{{name}}',
      }),
    ).rejects.toThrow('email template partial (text) placeholders: unknown [], unused [url]');
  });

  it('When the MJML is invalid, then compiling fails instead of rendering it', async () => {
    await expect(
      compileEmailTemplate('invalid', {
        placeholders: [],
        mjml: '<mjml><mj-body><mj-column><mj-text>x</mj-text></mj-column></mj-body></mjml>',
        text: '',
      }),
    ).rejects.toThrow(/mj-column/);
  });
});
