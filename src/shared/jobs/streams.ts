import { RetentionPolicy, StorageType, type JetStreamManager, type StreamConfig } from 'nats';
import { deadLetterStream, jobStreams } from '../constants/jobs.ts';

const NANOS_PER_SECOND = 1_000_000_000;

/** Long enough to cover a relay retrying a publish whose ack was lost. */
const DUPLICATE_WINDOW_NANOS = 10 * 60 * NANOS_PER_SECOND;

function desiredStreams(): Partial<StreamConfig>[] {
  const jobs = Object.values(jobStreams).map((job) => ({
    name: job.stream,
    subjects: [job.subject],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    duplicate_window: DUPLICATE_WINDOW_NANOS,
  }));
  const dlq = {
    name: deadLetterStream.stream,
    subjects: [`${deadLetterStream.subjectPrefix}.>`],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    max_age: deadLetterStream.maxAgeDays * 24 * 3600 * NANOS_PER_SECOND,
  };
  return [...jobs, dlq];
}

/**
 * Creates every job stream and the dead-letter stream, or updates them to the desired
 * settings. Safe to run from every server and worker at start.
 */
export async function ensureStreams(jsm: JetStreamManager): Promise<void> {
  for (const config of desiredStreams()) {
    const name = config.name as string;
    const existing = await jsm.streams.info(name).catch(() => undefined);
    if (existing) {
      await jsm.streams.update(name, { ...existing.config, ...config });
    } else {
      await jsm.streams.add(config);
    }
  }
}
