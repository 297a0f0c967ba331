import { jobStreams, type JobName } from '../shared/constants/jobs.ts';
import { newId } from '../shared/db/ids.ts';
import type { Executor } from '../shared/db/transaction.ts';
import { parseJobPayload, type JobPayload } from '../shared/jobs/payloads.ts';
import { createOutboxRow } from './outbox.repository.ts';

/**
 * Writes a job to the outbox in the caller's transaction, so the job exists exactly when the
 * change that caused it commits; the relay publishes it afterwards. Returns the outbox id,
 * which is also the message's Nats-Msg-Id. An invalid payload throws InvalidJobPayloadError:
 * it is a bug in the caller, and failing here rolls the change back with it.
 */
export async function enqueueJob<N extends JobName>(
  trx: Executor,
  job: N,
  payload: JobPayload<N>,
): Promise<string> {
  const valid = parseJobPayload(job, payload);
  const id = newId();
  await createOutboxRow(trx, { id, subject: jobStreams[job].subject, payload: valid });
  return id;
}
