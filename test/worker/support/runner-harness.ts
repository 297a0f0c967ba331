import { connect, type JetStreamClient, type JetStreamManager, type NatsConnection } from 'nats';
import { Registry } from 'prom-client';
import { createRedis, type RedisClient } from '../../../src/shared/clients/redis.ts';
import { jobStreams, type JobName } from '../../../src/shared/constants/jobs.ts';
import { newId } from '../../../src/shared/db/ids.ts';
import { ensureStreams } from '../../../src/shared/jobs/streams.ts';
import { createLogger } from '../../../src/shared/logger.ts';
import { listDeadLetters, type DeadLetter } from '../../../worker/dlq.ts';
import {
  startConsumers,
  type ConsumerDefinition,
  type ConsumerRunner,
  type StartConsumersOptions,
} from '../../../worker/runner.ts';
import { startPrivateNats, type PrivateNats } from '../../support/private-nats.ts';

export const logger = createLogger({ env: 'test', level: 'error', service: 'worker-test' });
// Dead letters and restarts log at error level by design; the assertions cover them here.
logger.silent = true;

type RunnerOverrides = Partial<Omit<StartConsumersOptions, 'nats' | 'redis'>>;

/** A private NATS with the job streams, a publisher, and runners started against it. */
export interface RunnerHarness {
  natsUrl: string;
  nats: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  redis: RedisClient;
  publish(job: JobName, payload: unknown, msgId?: string): Promise<string>;
  /** Each runner gets its own connection, so closing it is what a worker exit does to it. */
  start(consumers: ConsumerDefinition[], overrides?: RunnerOverrides): Promise<StartedRunner>;
  streamMessages(job: JobName): Promise<number>;
  deadLetters(): Promise<DeadLetter[]>;
  close(): Promise<void>;
}

export interface StartedRunner extends ConsumerRunner {
  registry: Registry;
  /** Stops the runner and closes its connection. */
  close(): Promise<void>;
  metric(name: string, consumer: string): Promise<number>;
}

export async function createRunnerHarness(): Promise<RunnerHarness> {
  const server: PrivateNats = await startPrivateNats();
  const nats = await connect({ servers: server.url });
  const jsm = await nats.jetstreamManager();
  await ensureStreams(jsm);
  const js = nats.jetstream();
  const redis = await createRedis(process.env.REDIS_SESSION_URL ?? '', 'worker-test');
  const runners: StartedRunner[] = [];

  return {
    natsUrl: server.url,
    nats,
    js,
    jsm,
    redis,
    async publish(job, payload, msgId = newId()) {
      const data = typeof payload === 'string' ? payload : JSON.stringify(payload);
      await js.publish(jobStreams[job].subject, data, { msgID: msgId });
      return msgId;
    },
    async start(consumers, overrides = {}) {
      const connection = await connect({ servers: server.url });
      const registry = new Registry();
      const runner = await startConsumers({
        nats: connection,
        redis,
        logger,
        registry,
        consumers,
        shutdownTimeoutMs: 5000,
        restartDelayMs: 100,
        ...overrides,
      });
      const started: StartedRunner = {
        registry,
        stop: () => runner.stop(),
        async close() {
          await runner.stop();
          if (!connection.isClosed()) await connection.close();
        },
        async metric(name, consumer) {
          const metric = await registry.getSingleMetric(name)?.get();
          return metric?.values.find((v) => v.labels.consumer === consumer)?.value ?? 0;
        },
      };
      runners.push(started);
      return started;
    },
    async streamMessages(job) {
      return (await jsm.streams.info(jobStreams[job].stream)).state.messages;
    },
    async deadLetters() {
      return (await listDeadLetters(js, jsm, 100)).letters;
    },
    async close() {
      await Promise.all(runners.map((runner) => runner.close()));
      await nats.close();
      await redis.quit();
      await server.destroy();
    },
  };
}

/** Polls until `check` returns a value other than undefined, or fails with `what`. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
