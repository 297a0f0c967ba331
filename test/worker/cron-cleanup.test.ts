import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadWorkerConfig } from '../../src/config/worker.ts';
import { jobStreams } from '../../src/shared/constants/jobs.ts';
import { newId } from '../../src/shared/db/ids.ts';
import { runCleanup } from '../../worker/cron/cleanup.cron.ts';
import { createPrivateTables, type PrivateTables } from '../support/private-tables.ts';

const DAY_MS = 86_400_000;
const daysAgo = (days: number) => new Date(Date.now() - days * DAY_MS);

describe('cleanup cron', () => {
  const config = loadWorkerConfig(process.env);
  const retention = config.actionLogRetentionDays;
  let tables: PrivateTables;

  // Each test gets its own tables, so every count it asserts is its own rows'.
  beforeEach(async () => {
    tables = await createPrivateTables(['users', 'action_logs', 'outbox']);
  });

  afterEach(async () => {
    await tables.drop();
  });

  async function insertUser(createdAt: Date, verifiedAt: Date | null): Promise<string> {
    const id = newId();
    await tables.db.write('users').insert({
      id,
      handle: `u${id.replaceAll('-', '')}`,
      display_name: 'Cleanup test',
      email: `${id}@example.test`,
      verified_at: verifiedAt,
      created_at: createdAt,
      updated_at: createdAt,
    });
    return id;
  }

  async function insertActionLog(createdAt: Date): Promise<string> {
    const id = newId();
    await tables.db.write('action_logs').insert({
      id,
      action: 'user:create',
      actor_ip: '127.0.0.1',
      resource_type: 'user',
      resource_id: newId(),
      summary: 'cleanup test',
      created_at: createdAt,
    });
    return id;
  }

  async function insertOutbox(createdAt: Date, sentAt: Date | null): Promise<string> {
    const id = newId();
    await tables.db.write('outbox').insert({
      id,
      subject: 'axumkit.jobs.index.user',
      payload: JSON.stringify({ user_id: newId(), action: 'index' }),
      created_at: createdAt,
      sent_at: sentAt,
    });
    return id;
  }

  async function remaining(table: string, ids: string[]): Promise<string[]> {
    const rows = await tables.db.write(table).whereIn('id', ids).select<{ id: string }[]>('id');
    return rows.map((row) => row.id).sort();
  }

  it('When rows are past their age limits, then exactly those rows are deleted, in batches', async () => {
    const oldUnverified = [
      await insertUser(daysAgo(8), null),
      await insertUser(daysAgo(30), null),
      await insertUser(daysAgo(400), null),
    ];
    const keptUsers = [
      await insertUser(daysAgo(6), null),
      await insertUser(daysAgo(30), daysAgo(29)),
      await insertUser(new Date(), null),
    ];
    const oldLogs = [
      await insertActionLog(daysAgo(retention + 1)),
      await insertActionLog(daysAgo(retention + 200)),
    ];
    const keptLogs = [
      await insertActionLog(daysAgo(retention - 1)),
      await insertActionLog(new Date()),
    ];
    const oldSent = [
      await insertOutbox(daysAgo(3), daysAgo(2)),
      await insertOutbox(daysAgo(10), daysAgo(9)),
    ];
    const keptOutbox = [
      await insertOutbox(daysAgo(1), new Date(Date.now() - 3_600_000)),
      // Never sent: kept however old, the relay still owes it to NATS.
      await insertOutbox(daysAgo(10), null),
    ];

    // A batch of 2 makes every table take more than one delete statement.
    const summary = await runCleanup({ db: tables.db, config }, { batchSize: 2 });

    expect(summary).toEqual({ unverified_users: 3, action_logs: 2, outbox_rows: 2 });
    expect(await remaining('users', [...oldUnverified, ...keptUsers])).toEqual(keptUsers.sort());
    expect(await remaining('action_logs', [...oldLogs, ...keptLogs])).toEqual(keptLogs.sort());
    expect(await remaining('outbox', [...oldSent, ...keptOutbox])).toEqual(keptOutbox.sort());
    // Each deleted account leaves a search-index delete job behind, waiting for the relay.
    const jobs = await tables.db
      .write('outbox')
      .whereNotIn('id', keptOutbox)
      .select<Array<{ subject: string; payload: { user_id: string; action: string } }>>(
        'subject',
        'payload',
      );
    expect(jobs.map((job) => job.subject)).toEqual(
      oldUnverified.map(() => jobStreams.indexUser.subject),
    );
    expect(jobs.map((job) => job.payload.user_id).sort()).toEqual([...oldUnverified].sort());
    expect(jobs.every((job) => job.payload.action === 'delete')).toBe(true);
  });

  it('When the retention setting is shorter, then action logs are deleted by that setting', async () => {
    const older = await insertActionLog(daysAgo(11));
    const newer = await insertActionLog(daysAgo(9));

    const summary = await runCleanup({
      db: tables.db,
      config: { ...config, actionLogRetentionDays: 10 },
    });

    expect(summary.action_logs).toBe(1);
    expect(await remaining('action_logs', [older, newer])).toEqual([newer]);
  });

  it('When the run is aborted, then it stops before deleting anything more', async () => {
    const old = await insertUser(daysAgo(8), null);
    const signal = AbortSignal.abort(new Error('stopping'));

    await expect(runCleanup({ db: tables.db, config }, { signal })).rejects.toThrow('stopping');
    expect(await remaining('users', [old])).toEqual([old]);
  });
});
