import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jobStreams } from '../../src/shared/constants/jobs.ts';
import { defineConsumer } from '../../worker/runner.ts';
import { createRunnerHarness, eventually, type RunnerHarness } from './support/runner-harness.ts';

const run = promisify(execFile);

let harness: RunnerHarness;

beforeEach(async () => {
  harness = await createRunnerHarness();
});

afterEach(async () => {
  await harness.close();
});

/** Runs an operator command as `npm run` would, against this test's NATS. */
async function command(script: 'dlq' | 'reindex', ...args: string[]) {
  const env = { ...process.env, NATS_URL: harness.natsUrl };
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      [`scripts/worker/${script}.ts`, ...args],
      {
        env,
      },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

async function deadLetterCount(expected: number) {
  return eventually(`${expected} dead letter(s)`, async () => {
    const letters = await harness.deadLetters();
    return letters.length === expected ? letters : undefined;
  });
}

describe('npm run worker:dlq', () => {
  it('When a dead letter is listed and replayed, then the job runs again from its origin subject and leaves the DLQ', async () => {
    let failing = true;
    const handled: unknown[] = [];
    const consumer = defineConsumer({
      job: 'deleteContent',
      async handle(payload) {
        if (failing) throw new Error('content store down');
        handled.push(payload);
      },
    });
    await harness.start([consumer], { retryDelaysMs: [10, 10, 10, 10, 10] });
    const payload = { storage_keys: ['posts/replayed'] };
    await harness.publish('deleteContent', payload);
    const [letter] = await deadLetterCount(1);

    const listed = await command('dlq', 'list');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain('1 dead letter(s)');
    expect(listed.stdout).toMatch(
      new RegExp(
        `^${letter!.seq}\\s+\\d{4}-\\d\\d-\\d\\dT\\S+Z\\s+axumkit\\.jobs\\.storage\\.delete_content\\s+failed 6 deliveries; last error: content store down$`,
        'm',
      ),
    );

    failing = false;
    const replayed = await command('dlq', 'replay', String(letter!.seq));
    expect(replayed.code).toBe(0);
    expect(replayed.stdout).toContain(
      `replayed ${letter!.seq} to ${jobStreams.deleteContent.subject}`,
    );
    await eventually('the replayed job to run', () => (handled.length === 1 ? true : undefined));
    expect(handled).toEqual([payload]);
    expect(await harness.deadLetters()).toEqual([]);
  });

  it('When the DLQ is purged, then it is empty, and a replay of a missing sequence fails', async () => {
    await harness.start([defineConsumer({ job: 'deleteContent', handle: async () => undefined })]);
    await harness.publish('deleteContent', { storage_keys: [] });
    await harness.publish('deleteContent', 'garbage');
    const letters = await deadLetterCount(2);

    const purged = await command('dlq', 'purge');
    expect(purged).toMatchObject({ code: 0, stdout: 'purged 2 dead letter(s)\n' });
    expect(await harness.deadLetters()).toEqual([]);

    const missing = await command('dlq', 'replay', String(letters[0]!.seq));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no message found/i);
  });

  it('When the command is unknown, then it prints the usage and exits 2', async () => {
    const result = await command('dlq', 'replay', 'abc');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('usage: npm run worker:dlq');
  });
});

describe('npm run worker:reindex', () => {
  it('When a reindex of posts is started, then the first batch is enqueued from the start with the batch size', async () => {
    const result = await command('reindex', 'posts', '--batch-size', '7');

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^reindex of posts enqueued: reindex_id=\S+ batch_size=7/);
    const stored = await harness.jsm.streams.getMessage(jobStreams.reindexPosts.stream, {
      last_by_subj: jobStreams.reindexPosts.subject,
    });
    const payload = stored.json<{ reindex_id: string; after_id: null; batch_size: number }>();
    expect(payload).toMatchObject({ after_id: null, batch_size: 7 });
    expect(result.stdout).toContain(payload.reindex_id);
  });

  it('When the target or batch size is invalid, then it prints the usage and exits 2', async () => {
    expect((await command('reindex', 'comments')).code).toBe(2);
    const tooBig = await command('reindex', 'users', '--batch-size', '20000');
    expect(tooBig.code).toBe(2);
    expect(tooBig.stderr).toContain('usage: npm run worker:reindex');
  });
});
