import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { jobStreams } from '../../../src/shared/constants/jobs.ts';
import type { JobPayload } from '../../../src/shared/jobs/payloads.ts';
import { uniqueHandle } from '../../support/factories.ts';

export interface SignUpBody {
  email: string;
  handle: string;
  display_name: string;
  password: string;
}

/** A valid sign-up nobody else uses. */
export function newSignUp(overrides: Partial<SignUpBody> = {}): SignUpBody {
  const handle = overrides.handle ?? uniqueHandle('s');
  return {
    email: `${handle.toLowerCase()}@example.test`,
    handle,
    display_name: `Signer ${handle}`,
    password: `pw-${randomBytes(12).toString('base64url')}`,
    ...overrides,
  };
}

export async function postJson(baseUrl: string, path: string, body: unknown, cookie?: string) {
  const response = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return { response, status: response.status, body: text ? (JSON.parse(text) as unknown) : {} };
}

export const signUp = (baseUrl: string, body: unknown) => postJson(baseUrl, '/v0/users', body);

type EmailJob = JobPayload<'email'>;

/** The email jobs written to the (shared) outbox for one address, oldest first. */
export async function emailJobsTo(db: Knex, to: string): Promise<EmailJob[]> {
  const rows: { payload: EmailJob }[] = await db('outbox')
    .where({ subject: jobStreams.email.subject })
    .whereRaw("payload->>'to' = ?", [to])
    .orderBy('created_at')
    .orderBy('id')
    .select('payload');
  return rows.map((r) => r.payload);
}

/** The verification tokens mailed to an address, oldest first. */
export async function verificationTokens(db: Knex, to: string): Promise<string[]> {
  return (await emailJobsTo(db, to)).flatMap((job) =>
    job.template === 'verification' ? [job.vars.token] : [],
  );
}

/** The latest verification token mailed to an address; throws when none was. */
export async function latestVerificationToken(db: Knex, to: string): Promise<string> {
  const token = (await verificationTokens(db, to)).at(-1);
  if (!token) throw new Error(`no verification email was queued for ${to}`);
  return token;
}

/** `name=value` of the session cookie a response set, ready for a Cookie header. */
export function sessionCookie(response: Response): string | undefined {
  const setCookie = response.headers.getSetCookie().find((c) => /(^|_)session_id=/.test(c));
  return setCookie?.split(';')[0];
}
