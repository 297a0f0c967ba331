import { emailLayout } from './email-layout.ts';
import { defineEmailTemplate } from './email-template.ts';

const DEFAULT_TITLE = 'A notice about your account';

/** An informational email with no action, e.g. "someone tried to register with your address". */
export const noticeTemplate = defineEmailTemplate<'notice', 'project_name' | 'title' | 'message'>({
  placeholders: ['project_name', 'title', 'message'],
  mjml: emailLayout({
    preview: '{{title}}',
    // pre-line keeps the line breaks of a multi-line message without trusting it as markup.
    body: `        <mj-text font-size="18px" font-weight="600">{{title}}</mj-text>
        <mj-text><div style="white-space:pre-line">{{message}}</div></mj-text>`,
  }),
  text: `{{title}}

{{message}}

-- {{project_name}}
`,
  subject: (vars, ctx) => `${vars.title ?? DEFAULT_TITLE} - ${ctx.projectName}`,
  values: (vars, ctx) => ({
    project_name: ctx.projectName,
    title: vars.title ?? DEFAULT_TITLE,
    message: vars.message,
  }),
});
