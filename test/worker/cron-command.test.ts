import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/shared/db/ids.ts';
import { createPrivateTables, type PrivateTables } from '../support/private-tables.ts';
import { spawnScript } from './fixtures/cron-support.ts';

const COMMAND = 'scripts/worker/cron.ts';

describe('npm run worker:cron', () => {
  let tables: PrivateTables;

  beforeAll(async () => {
    tables = await createPrivateTables(['users', 'action_logs', 'outbox']);
  });

  afterAll(async () => {
    await tables.drop();
  });

  it('When asked to list, then each job is printed with its schedule and next run', async () => {
    const command = spawnScript(COMMAND, ['list'], { CRON_CLEANUP_SCHEDULE: '15 1 * * *' });

    expect(await command.exited).toBe(0);
    expect(command.lines).toHaveLength(3);
    expect(command.lines[0]).toMatch(
      /^cleanup\s+15 1 \* \* \* \(UTC\)\s+next run \d{4}-\d\d-\d\dT01:15:00\.000Z$/,
    );
    expect(command.lines[1]).toMatch(/^sitemap\s/);
    expect(command.lines[2]).toMatch(/^orphan-blobs\s/);
  });

  it('When the job is unknown, then it exits non-zero with the usage', async () => {
    const command = spawnScript(COMMAND, ['vacuum']);

    expect(await command.exited).toBe(2);
    expect(command.lines.join('\n')).toContain('unknown cron job "vacuum"');
    expect(command.lines.join('\n')).toContain('list | cleanup | sitemap | orphan-blobs');
  });

  it('When a job is run, then it runs now and prints its outcome', async () => {
    const id = newId();
    await tables.db.write('users').insert({
      id,
      handle: `u${id.replaceAll('-', '')}`,
      display_name: 'Command test',
      email: `${id}@example.test`,
      created_at: new Date(Date.now() - 8 * 86_400_000),
    });

    const command = spawnScript(COMMAND, ['cleanup'], { DATABASE_URL: tables.url });

    expect(await command.exited).toBe(0);
    expect(command.lines.at(-1)).toMatch(
      /^cleanup: ok in \d+ ms unverified_users=1 action_logs=0 outbox_rows=0$/,
    );
    expect(await tables.db.write('users').where({ id }).first()).toBeUndefined();
  });

  it('When the job fails, then it exits non-zero with the reason', async () => {
    const url = new URL(tables.url);
    url.searchParams.set('options', '-c search_path=no_such_schema');

    const command = spawnScript(COMMAND, ['cleanup'], { DATABASE_URL: url.href });

    expect(await command.exited).toBe(1);
    expect(command.lines.join('\n')).toMatch(
      /cleanup: failed after \d+ ms: .*relation "users" does not exist/s,
    );
  });
});
