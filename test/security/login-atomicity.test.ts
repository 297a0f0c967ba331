import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisKeys } from '../../src/shared/constants/redis-keys.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { createUser } from '../support/factories.ts';
import { postJson } from '../support/http.ts';
import { codeAt, enableTotpFor } from '../totp/totp-support.ts';

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app.close();
});

/**
 * Makes PostgreSQL refuse every action log of one user, as a full disk or a broken constraint
 * would, while the rest of the test run writes its logs as usual.
 */
async function withFailingActionLogs(
  userId: string,
  run: () => Promise<void>,
  when: 'insert' | 'commit' = 'insert',
): Promise<void> {
  const name = `fail_action_log_${userId.replaceAll('-', '')}`;
  const db = app.deps.db.write;
  await db.raw(`
    CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.actor_id = '${userId}' THEN RAISE EXCEPTION 'injected action log failure'; END IF;
      RETURN NEW;
    END $$`);
  // A deferred constraint trigger fires at COMMIT: the insert succeeds, the commit fails.
  await db.raw(
    when === 'insert'
      ? `CREATE TRIGGER ${name} BEFORE INSERT ON action_logs FOR EACH ROW EXECUTE FUNCTION ${name}()`
      : `CREATE CONSTRAINT TRIGGER ${name} AFTER INSERT ON action_logs
           DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ${name}()`,
  );
  try {
    await run();
  } finally {
    await db.raw(`DROP TRIGGER ${name} ON action_logs`);
    await db.raw(`DROP FUNCTION ${name}()`);
  }
}

/**
 * `sessionCookies` is what the 500 may say of the session cookie: nothing when no session was
 * ever made, or only the clearing `session_id=` when one was made and ended again.
 */
async function expectNoSessionLeft(
  answer: Awaited<ReturnType<typeof postJson>>,
  userId: string,
  sessionCookies: string[] = [],
): Promise<void> {
  expect(answer.status).toBe(500);
  expect((answer.body as { code: string }).code).toBe('system:database_error');
  const sent = answer.response.headers
    .getSetCookie()
    .filter((c) => c.startsWith('session_id='))
    .map((c) => c.split(';')[0]);
  expect(sent).toEqual(sessionCookies);
  expect(await app.deps.redis.session.zcard(redisKeys.userSessions(userId))).toBe(0);
  expect(await storedSessionsOf(userId)).toEqual([]);
}

/** Every session stored for the user, found by its data: the index could miss an orphan. */
async function storedSessionsOf(userId: string): Promise<string[]> {
  const redis = app.deps.redis.session;
  const found: string[] = [];
  for await (const keys of redis.scanStream({ match: redisKeys.session('*'), count: 1000 })) {
    const batch = keys as string[];
    if (batch.length === 0) continue;
    const values = await redis.mget(...batch);
    batch.forEach((key, i) => {
      if (values[i]?.includes(`"user_id":"${userId}"`)) found.push(key);
    });
  }
  return found;
}

describe('a login whose action log cannot be written', () => {
  it('When the auth:login log fails on a password login, then the 500 carries no session cookie and no session is stored', async () => {
    const { user, password } = await createUser(app.deps);
    await withFailingActionLogs(user.id, async () => {
      const answer = await postJson(app.baseUrl, '/v0/auth/login', {
        email: user.email,
        password,
      });
      await expectNoSessionLeft(answer, user.id);
    });

    // Nothing was left half done: the same login works once the database does.
    const retry = await postJson(app.baseUrl, '/v0/auth/login', { email: user.email, password });
    expect(retry.status).toBe(204);
  });

  it('When the login commit itself fails after the session was stored, then the session is ended again and the 500 carries no session cookie', async () => {
    const { user, password } = await createUser(app.deps);
    await withFailingActionLogs(
      user.id,
      async () => {
        const answer = await postJson(app.baseUrl, '/v0/auth/login', {
          email: user.email,
          password,
        });
        await expectNoSessionLeft(answer, user.id, ['session_id=']);
      },
      'commit',
    );
    expect(await app.deps.db.write('action_logs').where({ actor_id: user.id })).toEqual([]);
  });

  it('When the auth:login log fails on the TOTP step, then the 500 carries no session cookie and no session is stored', async () => {
    const { user, password } = await createUser(app.deps);
    const { secret } = await enableTotpFor(app, user.id);
    const login = await postJson(app.baseUrl, '/v0/auth/login', { email: user.email, password });
    const { temp_token } = login.body as { temp_token: string };

    await withFailingActionLogs(user.id, async () => {
      const answer = await postJson(app.baseUrl, '/v0/auth/totp/verify', {
        temp_token,
        code: await codeAt(secret, 0),
      });
      await expectNoSessionLeft(answer, user.id);
    });
  });
});
