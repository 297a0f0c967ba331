import { z } from 'zod';
import type { JobName } from '../constants/jobs.ts';

const uuid = z.uuid();
const indexAction = z.enum(['index', 'delete']);
const reindex = z.object({
  reindex_id: uuid,
  after_id: uuid.nullable(),
  batch_size: z.number().int().min(1).max(10_000),
});

const text = z.string().regex(/\S/, 'must not be blank');
/**
 * An address as the contract accepted it (its `format: email` already checked the form at the
 * edge). zod's own email check is stricter than the contract's, and a job refused here for an
 * address the API took would turn a valid request into a 500.
 */
const address = z
  .string()
  .max(254)
  .regex(/^[^\s@]+@[^\s@]+$/, 'must be an email address');
/** Each email template's vars: a job missing one can never render, so it dead-letters at once. */
const linkEmailVars = z.strictObject({ token: text, display_name: text });
const emailJob = <T extends string, V extends z.ZodType>(template: T, vars: V) =>
  z.object({ to: address, template: z.literal(template), vars });

/**
 * One schema per job, checked when a job is enqueued (a bad payload is a bug in the caller)
 * and again when it is consumed (a bad payload goes straight to the dead-letter stream).
 */
export const jobPayloadSchemas = {
  email: z.discriminatedUnion('template', [
    emailJob('verification', linkEmailVars),
    emailJob('password_reset', linkEmailVars),
    emailJob('email_change', linkEmailVars),
    emailJob('notice', z.strictObject({ message: text, title: text.optional() })),
  ]),
  accountEmail: z.object({ flow: z.enum(['password_reset', 'verification']), email: address }),
  indexPost: z.object({ post_id: uuid, action: indexAction }),
  indexUser: z.object({ user_id: uuid, action: indexAction }),
  reindexPosts: reindex,
  reindexUsers: reindex,
  importAvatar: z.object({ user_id: uuid, url: z.url({ protocol: /^https?$/ }).max(2048) }),
  deleteContent: z.object({ storage_keys: z.array(z.string().min(1).max(1024)).min(1).max(1000) }),
} as const satisfies Record<JobName, z.ZodType>;

export type JobPayload<N extends JobName> = z.infer<(typeof jobPayloadSchemas)[N]>;

export class InvalidJobPayloadError extends Error {
  constructor(job: JobName, issues: string) {
    super(`invalid ${job} payload: ${issues}`);
    this.name = 'InvalidJobPayloadError';
  }
}

export function parseJobPayload<N extends JobName>(job: N, data: unknown): JobPayload<N> {
  const result = jobPayloadSchemas[job].safeParse(data);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.') || '(root)'} ${i.message}`);
    throw new InvalidJobPayloadError(job, issues.join('; '));
  }
  return result.data as JobPayload<N>;
}
