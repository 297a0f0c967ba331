import { emailLayout } from './email-layout.ts';
import {
  defineEmailTemplate,
  type EmailContext,
  type EmailTemplate,
  type EmailTemplateName,
} from './email-template.ts';

type LinkTemplateName = Exclude<EmailTemplateName, 'notice'>;
type FrontendPath = keyof EmailContext['frontend']['paths'];

/** `{FRONTEND_HOST}{FRONTEND_PATH_*}?token=…`, encoded: a token may hold `+/=`. */
export function frontendLink(
  frontend: EmailContext['frontend'],
  path: FrontendPath,
  token: string,
): string {
  const target = frontend.paths[path];
  const separator = target.includes('?') ? '&' : '?';
  return `${frontend.host}${target}${separator}token=${encodeURIComponent(token)}`;
}

interface LinkEmailCopy {
  path: FrontendPath;
  subject(projectName: string): string;
  /** Plain sentences; `{{project_name}}` may appear in them. */
  intro: string;
  button: string;
  outro: string;
}

/** The shape shared by the emails that carry a one-time link: greeting, reason, button, caveat. */
export function linkEmailTemplate<T extends LinkTemplateName>(
  copy: LinkEmailCopy,
): EmailTemplate<T, 'project_name' | 'display_name' | 'action_url'> {
  return defineEmailTemplate<T, 'project_name' | 'display_name' | 'action_url'>({
    placeholders: ['project_name', 'display_name', 'action_url'],
    mjml: emailLayout({
      preview: copy.intro,
      body: `        <mj-text>Hi {{display_name}},</mj-text>
        <mj-text>${copy.intro}</mj-text>
        <mj-button href="{{action_url}}">${copy.button}</mj-button>
        <mj-text font-size="13px" color="#52606d">If the button does not work, open this link: <a href="{{action_url}}" style="color:#2563eb;word-break:break-all">{{action_url}}</a></mj-text>
        <mj-text font-size="13px" color="#52606d">${copy.outro}</mj-text>`,
    }),
    text: `Hi {{display_name}},

${copy.intro}

${copy.button}: {{action_url}}

${copy.outro}

-- {{project_name}}
`,
    subject: (_vars, ctx) => copy.subject(ctx.projectName),
    values: (vars, ctx) => ({
      project_name: ctx.projectName,
      display_name: vars.display_name,
      action_url: frontendLink(ctx.frontend, copy.path, vars.token),
    }),
  });
}
