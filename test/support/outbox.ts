import type { Knex } from 'knex';
import type { Dependencies } from '../../src/dependencies.ts';
import {
  createAccountEmailService,
  type AccountEmail,
} from '../../src/modules/auth/account-email.service.ts';
import { jobStreams } from '../../src/shared/constants/jobs.ts';
import type { JobPayload } from '../../src/shared/jobs/payloads.ts';

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

/** The tokens mailed to an address with one template, oldest first. */
export async function mailedTokens(
  db: Knex,
  to: string,
  template: 'verification' | 'password_reset' | 'email_change',
): Promise<string[]> {
  return (await emailJobsTo(db, to)).flatMap((job) =>
    job.template === template ? [job.vars.token] : [],
  );
}

/** The latest token mailed to an address with one template; throws when none was. */
export async function latestMailedToken(
  db: Knex,
  to: string,
  template: 'verification' | 'password_reset' | 'email_change',
): Promise<string> {
  const token = (await mailedTokens(db, to, template)).at(-1);
  if (!token) throw new Error(`no ${template} email was queued for ${to}`);
  return token;
}

/** The account-email jobs (forgot password, resend verification) queued for an address. */
export async function accountEmailJobsFor(
  db: Knex,
  email: string,
): Promise<JobPayload<'accountEmail'>[]> {
  const rows: { payload: JobPayload<'accountEmail'> }[] = await db('outbox')
    .where({ subject: jobStreams.accountEmail.subject })
    .whereRaw("payload->>'email' = ?", [email])
    .orderBy('created_at')
    .orderBy('id')
    .select('payload');
  return rows.map((r) => r.payload);
}

/**
 * Runs the worker's half of the latest account-email job queued for an address, as the
 * account-email consumer does: the email it comes to, or undefined when the address gets none.
 */
export async function composeLatestAccountEmail(
  deps: Pick<Dependencies, 'db' | 'redis' | 'config'>,
  email: string,
): Promise<AccountEmail | undefined> {
  const job = (await accountEmailJobsFor(deps.db.write, email)).at(-1);
  if (!job) throw new Error(`no account email was queued for ${email}`);
  const service = createAccountEmailService({ ...deps, sessionRedis: deps.redis.session });
  return service.compose(job);
}
