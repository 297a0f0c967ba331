import type { JobName } from '../../src/shared/constants/jobs.ts';
import type { JobPayload } from '../../src/shared/jobs/payloads.ts';
import type { Logger } from '../../src/shared/logger.ts';

export interface ConsumerContext {
  logger: Logger;
  /** Nats-Msg-Id (the outbox id), or `<stream>:<sequence>` when the publisher set none. */
  messageId: string;
  /** 1 on the first delivery. */
  deliveryCount: number;
  header(name: string): string | undefined;
  /**
   * Aborted when the job has run past its timeout (it is then retried) or shutdown stops
   * waiting for it; whatever it does next is not acked. Long work should pass it on.
   */
  signal: AbortSignal;
}

export interface ConsumerSpec<N extends JobName> {
  job: N;
  handle(payload: JobPayload<N>, ctx: ConsumerContext): Promise<void>;
  /** Not idempotent on its own (an email): a redelivery after success is skipped by message id. */
  sideEffects?: boolean;
  /** How often a running job tells JetStream it is alive; well under the ack wait. */
  inProgressIntervalMs?: number;
  /** The longest one delivery may run before it counts as failed; the runner's default otherwise. */
  timeoutMs?: number;
}

export interface ConsumerDefinition {
  readonly job: JobName;
  readonly sideEffects: boolean;
  readonly inProgressIntervalMs: number | undefined;
  readonly timeoutMs: number | undefined;
  /** Checks the decoded body against the job's schema (throws InvalidJobPayloadError) and binds it. */
  prepare(data: unknown): (ctx: ConsumerContext) => Promise<void>;
}

export interface RunnerSettings {
  ackWaitMs: number;
  /** Delay before delivery n+1 after failed delivery n; one more failure dead-letters. */
  retryDelaysMs: readonly number[];
  inProgressIntervalMs: number;
  /**
   * The longest a delivery may run. A running job keeps telling JetStream it is alive, so a
   * handler that hangs would hold its slot of the consumer's concurrency for ever; past this
   * it is failed like a throw (retried after its delay, dead-lettered after the last).
   */
  handlerTimeoutMs: number;
  /** First pause before a crashed consume loop restarts; it doubles while restarts keep failing. */
  restartDelayMs: number;
}
