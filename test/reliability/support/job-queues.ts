import { connect } from 'nats';
import { jobStreams } from '../../../src/shared/constants/jobs.ts';
import { eventually } from '../../support/wait.ts';

/**
 * Waits until every job stream's durable consumer has nothing waiting or unacked, so a file
 * leaves no job of its own for the next file's workers (which would count it as theirs).
 */
export async function waitForJobQueuesDrained(natsUrl: string, timeoutMs = 20_000): Promise<void> {
  const nats = await connect({ servers: natsUrl });
  try {
    const jsm = await nats.jetstreamManager();
    await eventually(async () => {
      for (const { stream, durable } of Object.values(jobStreams)) {
        const info = await jsm.consumers.info(stream, durable).catch(() => undefined);
        if (info && (info.num_pending > 0 || info.num_ack_pending > 0)) return false;
      }
      return true;
    }, timeoutMs);
  } finally {
    await nats.close();
  }
}
