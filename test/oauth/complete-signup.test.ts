import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobStreams } from '../../src/shared/constants/jobs.ts';
import { redisKeys } from '../../src/shared/constants/redis-keys.ts';
import type { UserRow } from '../../src/shared/db/rows.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { clientFor, signedInClient } from '../support/client.ts';
import { createUser, uniqueHandle } from '../support/factories.ts';
import { codeAt } from '../totp/totp-support.ts';
import { eventually } from '../support/wait.ts';
import {
  authorizeAt,
  githubIdentity,
  googleIdentity,
  oauthLogin,
  startOAuthHarness,
  type OAuthHarness,
} from './support/oauth-harness.ts';

let harness: OAuthHarness;

beforeAll(async () => {
  harness = await startOAuthHarness();
});
afterAll(async () => {
  await harness.close();
});

const pendingKey = (token: string) =>
  redisKeys.oauthPendingSignup(createHash('sha256').update(token).digest('hex'));

const usersWithEmail = (app: TestApp, email: string) =>
  app.deps.db.write<UserRow>('users').whereRaw('lower(email) = lower(?)', [email]);

const avatarJobsFor = (app: TestApp, userId: string) =>
  app.deps.db
    .write('outbox')
    .where({ subject: jobStreams.importAvatar.subject })
    .whereRaw("payload->>'user_id' = ?", [userId])
    .pluck('payload');

/** A Google login of a new identity: its pending token. */
async function pendingSignup(app: TestApp, identity = googleIdentity()): Promise<string> {
  const login = await oauthLogin({ ...harness, app }, clientFor(app), 'google', identity);
  if (!login.data || !('pending_token' in login.data)) {
    throw new Error(`expected a pending sign-up, got ${login.response.status}`);
  }
  return login.data.pending_token;
}

const complete = (app: TestApp, pendingToken: string, handle: string, client = clientFor(app)) =>
  client.POST('/v0/auth/complete-signup', { body: { pending_token: pendingToken, handle } });

describe('POST /v0/auth/complete-signup', () => {
  it('When a pending sign-up is issued, then it lives in Redis for the configured 10 minutes', async () => {
    const token = await pendingSignup(harness.app);
    const ttl = await harness.app.deps.redis.session.ttl(pendingKey(token));
    expect(ttl).toBeGreaterThan(500);
    expect(ttl).toBeLessThanOrEqual(600);
  });

  it('When the same token is sent again after success, then it signs in to the same account and creates no second one', async () => {
    const { app } = harness;
    const identity = googleIdentity();
    const token = await pendingSignup(app, identity);
    const handle = uniqueHandle('r');
    const first = clientFor(app);
    expect((await complete(app, token, handle, first)).response.status).toBe(204);
    const retry = clientFor(app);
    expect((await complete(app, token, handle, retry)).response.status).toBe(204);

    const firstMe = (await first.GET('/v0/user/me')).data!;
    expect((await retry.GET('/v0/user/me')).data?.id).toBe(firstMe.id);
    expect(await usersWithEmail(app, identity.email)).toHaveLength(1);
    const sessions = (await retry.GET('/v0/auth/sessions')).data!.sessions;
    expect(sessions).toHaveLength(2);
  });

  it('When the same token is submitted twice at once, then both sign in to one account', async () => {
    const { app } = harness;
    const identity = googleIdentity();
    const token = await pendingSignup(app, identity);
    const handle = uniqueHandle('c');
    const answers = await Promise.all([complete(app, token, handle), complete(app, token, handle)]);
    expect(answers.map((answer) => answer.response.status)).toEqual([204, 204]);
    expect(await usersWithEmail(app, identity.email)).toHaveLength(1);
  });

  it('When the handle is taken, then it answers 409 user:handle_already_exists and the token works with another handle', async () => {
    const { app } = harness;
    const { user: holder } = await createUser(app.deps);
    const token = await pendingSignup(app);
    const taken = await complete(app, token, holder.handle.toUpperCase());
    expect(taken.error).toMatchObject({ status: 409, code: 'user:handle_already_exists' });
    const reserved = await complete(app, token, 'admin');
    expect(reserved.error).toMatchObject({ status: 409, code: 'user:handle_already_exists' });

    const browser = clientFor(app);
    const handle = uniqueHandle('t');
    expect((await complete(app, token, handle, browser)).response.status).toBe(204);
    expect((await browser.GET('/v0/user/me')).data?.handle).toBe(handle);
  });

  it('When a password account takes the address before the sign-up completes, then it answers 409 oauth:email_already_exists', async () => {
    const { app } = harness;
    const identity = googleIdentity();
    const token = await pendingSignup(app, identity);
    await createUser(app.deps, { email: identity.email });
    const answer = await complete(app, token, uniqueHandle('e'));
    expect(answer.error).toMatchObject({ status: 409, code: 'oauth:email_already_exists' });
    expect(await usersWithEmail(app, identity.email)).toHaveLength(1);
  });

  it('When the provider account was linked to another user meanwhile, then it answers 400 oauth:pending_signup_invalid and creates nobody', async () => {
    const { app } = harness;
    const identity = googleIdentity();
    const token = await pendingSignup(app, identity);
    const { user, password } = await createUser(app.deps);
    const owner = await signedInClient(app, { email: user.email, password: password! });
    const { code, state } = await authorizeAt(harness, owner, 'google', identity, 'link');
    const linked = await owner.POST('/v0/auth/oauth/{provider}/link', {
      params: { path: { provider: 'google' } },
      body: { code, state },
    });
    expect(linked.response.status).toBe(204);

    const answer = await complete(app, token, uniqueHandle('l'));
    expect(answer.error).toMatchObject({ status: 400, code: 'oauth:pending_signup_invalid' });
    expect(await usersWithEmail(app, identity.email)).toEqual([]);
  });

  it('When the token is unknown, then it answers 400 oauth:pending_signup_invalid', async () => {
    const answer = await complete(harness.app, 'no-such-pending-token', uniqueHandle('u'));
    expect(answer.error).toMatchObject({ status: 400, code: 'oauth:pending_signup_invalid' });
  });

  it('When the account turned on TOTP after signing up, then a retry of the token no longer signs in', async () => {
    const { app } = harness;
    const token = await pendingSignup(app);
    const handle = uniqueHandle('f');
    const owner = clientFor(app);
    await complete(app, token, handle, owner);
    const { secret } = (await owner.POST('/v0/auth/totp/setup')).data!;
    await owner.POST('/v0/auth/totp/enable', { body: { code: await codeAt(secret, 0) } });

    const retry = await complete(app, token, handle);
    expect(retry.error).toMatchObject({ status: 400, code: 'oauth:pending_signup_invalid' });
  });

  it('When the provider account was unlinked after sign-up, then a retry of the token no longer signs in', async () => {
    const { app } = harness;
    const token = await pendingSignup(app);
    const handle = uniqueHandle('k');
    const owner = clientFor(app);
    expect((await complete(app, token, handle, owner)).response.status).toBe(204);
    // A second connection, so that Google is not the last way in and may be unlinked.
    const { code, state } = await authorizeAt(harness, owner, 'github', githubIdentity(), 'link');
    await owner.POST('/v0/auth/oauth/{provider}/link', {
      params: { path: { provider: 'github' } },
      body: { code, state },
    });
    const unlinked = await owner.POST('/v0/auth/oauth/connections/unlink', {
      body: { provider: 'google' },
    });
    expect(unlinked.response.status).toBe(204);

    const retry = clientFor(app);
    const answer = await complete(app, token, handle, retry);
    expect(answer.error).toMatchObject({ status: 400, code: 'oauth:pending_signup_invalid' });
    expect((await retry.GET('/v0/user/me')).response.status).toBe(401);
  });

  it('When the retry comes after the minute a used token is good for, then it no longer signs in', async () => {
    const { app } = harness;
    const token = await pendingSignup(app);
    const handle = uniqueHandle('w');
    expect((await complete(app, token, handle)).response.status).toBe(204);
    // The minute passes: the record's completion time is moved back, its expiry kept.
    const redis = app.deps.redis.session;
    const record = JSON.parse((await redis.get(pendingKey(token)))!) as { completed_at: number };
    record.completed_at -= 61_000;
    await redis.set(pendingKey(token), JSON.stringify(record), 'KEEPTTL');

    const retry = clientFor(app);
    const answer = await complete(app, token, handle, retry);
    expect(answer.error).toMatchObject({ status: 400, code: 'oauth:pending_signup_invalid' });
    expect((await retry.GET('/v0/user/me')).response.status).toBe(401);
  });

  it('When the provider has an avatar, then the new account gets an import job with its URL in the sign-up transaction', async () => {
    const { app } = harness;
    const identity = googleIdentity({
      picture: 'https://lh3.googleusercontent.test/a/grace=s96-c',
    });
    const browser = clientFor(app);
    await complete(app, await pendingSignup(app, identity), uniqueHandle('a'), browser);
    const userId = (await browser.GET('/v0/user/me')).data!.id;
    expect(await avatarJobsFor(app, userId)).toEqual([{ user_id: userId, url: identity.picture }]);
  });

  it('When the provider has no avatar, then no import job is written', async () => {
    const { app } = harness;
    const identity = githubIdentity();
    const browser = clientFor(app);
    const login = await oauthLogin(harness, browser, 'github', identity);
    const token = login.data && 'pending_token' in login.data ? login.data.pending_token : '';
    await complete(app, token, uniqueHandle('n'), browser);
    const userId = (await browser.GET('/v0/user/me')).data!.id;
    expect(await avatarJobsFor(app, userId)).toEqual([]);
  });

  describe('with a one-second pending sign-up', () => {
    let shortLived: TestApp;
    beforeAll(async () => {
      shortLived = await startTestApp(
        { oauth: { pendingSignupTtlSeconds: 1 } },
        { ...process.env, ...harness.google.env, ...harness.github.env },
      );
    });
    afterAll(async () => {
      await shortLived.close();
    });

    it('When the pending sign-up has expired, then it answers 400 oauth:pending_signup_invalid and creates nobody', async () => {
      const identity = googleIdentity();
      const token = await pendingSignup(shortLived, identity);
      const key = pendingKey(token);
      await eventually(async () => (await shortLived.deps.redis.session.exists(key)) === 0, 15_000);
      const answer = await complete(shortLived, token, uniqueHandle('x'));
      expect(answer.error).toMatchObject({ status: 400, code: 'oauth:pending_signup_invalid' });
      expect(await usersWithEmail(shortLived, identity.email)).toEqual([]);
    });
  });
});
