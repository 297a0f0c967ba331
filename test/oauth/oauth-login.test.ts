import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientFor, signedInClient } from '../support/client.ts';
import { createUser } from '../support/factories.ts';
import { codeAt } from '../totp/totp-support.ts';
import {
  actionLogsOf,
  githubIdentity,
  googleIdentity,
  oauthLogin,
  oauthSignUp,
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

describe('OAuth sign-in', () => {
  it('When a new Google user signs in, then the pending sign-up carries the provider email and name, and completing it signs in to a verified, password-less account', async () => {
    const { app } = harness;
    const base = googleIdentity();
    const email = `mixed.case.${base.sub}@gmail.test`;
    const identity = { ...base, email: `  Mixed.Case.${base.sub}@Gmail.TEST ` };
    const browser = clientFor(app);

    const login = await oauthLogin(harness, browser, 'google', identity);
    expect(login.response.status).toBe(200);
    expect(login.data).toMatchObject({
      email,
      display_name: identity.name,
    });
    expect((await browser.GET('/v0/user/me')).error?.code).toBe('auth:unauthorized');

    const pendingToken =
      login.data && 'pending_token' in login.data ? login.data.pending_token : '';
    const done = await browser.POST('/v0/auth/complete-signup', {
      body: { pending_token: pendingToken, handle: 'grace_oauth_' + identity.sub.slice(-6) },
    });
    expect(done.response.status).toBe(204);
    const me = (await browser.GET('/v0/user/me')).data!;
    expect(me).toMatchObject({
      email,
      display_name: identity.name,
      handle: 'grace_oauth_' + identity.sub.slice(-6),
      is_verified: true,
      has_password: false,
      totp_enabled: false,
    });
    const connections = (await browser.GET('/v0/auth/oauth/connections')).data!.connections;
    expect(connections.map((connection) => connection.provider)).toEqual(['google']);
    expect(Date.parse(connections[0]!.created_at)).toBeGreaterThan(Date.now() - 3_600_000);
    const created = await actionLogsOf(app, me.id, 'user:create');
    expect(created.map((log) => log.summary)).toEqual([`Signed up with Google as @${me.handle}`]);
    expect(await actionLogsOf(app, me.id, 'auth:login')).toHaveLength(1);
  });

  it('When a linked Google account signs in again, then it answers 204 with a session and logs auth:login', async () => {
    const { app } = harness;
    const identity = googleIdentity();
    const first = clientFor(app);
    await oauthSignUp(harness, first, 'google', identity);
    const userId = (await first.GET('/v0/user/me')).data!.id;

    const again = clientFor(app);
    const login = await oauthLogin(harness, again, 'google', identity);
    expect(login.response.status).toBe(204);
    expect(login.response.headers.getSetCookie().some((c) => c.startsWith('session_id='))).toBe(
      true,
    );
    expect((await again.GET('/v0/user/me')).data?.id).toBe(userId);
    const logins = await actionLogsOf(app, userId, 'auth:login');
    expect(logins.map((log) => log.summary)).toEqual([
      'Signed up with Google',
      'Logged in with Google',
    ]);
  });

  it('When a new GitHub user signs in, then the primary verified address of /user/emails is used, and a user without a name is offered the login', async () => {
    const { app } = harness;
    const identity = githubIdentity({ name: null });
    const browser = clientFor(app);
    const login = await oauthLogin(harness, browser, 'github', identity);
    expect(login.response.status).toBe(200);
    expect(login.data).toMatchObject({
      email: identity.emails[1]!.email,
      display_name: identity.login,
    });
    // GitHub answers form-encoded unless the token request asks for JSON.
    expect(harness.github.tokenAccepts.at(-1)).toBe('application/json');

    const { handle } = await oauthSignUp(harness, clientFor(app), 'github', githubIdentity());
    expect(handle).toMatch(/^o/);
    const again = clientFor(app);
    const signUp = await oauthSignUp(harness, again, 'github', identity);
    expect((await again.GET('/v0/user/me')).data).toMatchObject({
      handle: signUp.handle,
      email: identity.emails[1]!.email,
      display_name: identity.login,
    });
    const relogin = clientFor(app);
    expect((await oauthLogin(harness, relogin, 'github', identity)).response.status).toBe(204);
  });

  it('When a GitHub account has no verified primary email, then login answers 400 oauth:email_not_verified', async () => {
    const identity = githubIdentity({
      emails: [
        { email: 'primary-unverified@github.test', primary: true, verified: false },
        { email: 'secondary-verified@github.test', primary: false, verified: true },
      ],
    });
    const login = await oauthLogin(harness, clientFor(harness.app), 'github', identity);
    expect(login.error).toMatchObject({ status: 400, code: 'oauth:email_not_verified' });
  });

  it('When a Google email is not verified, then login answers 400 oauth:email_not_verified', async () => {
    const login = await oauthLogin(
      harness,
      clientFor(harness.app),
      'google',
      googleIdentity({ email_verified: false }),
    );
    expect(login.error).toMatchObject({ status: 400, code: 'oauth:email_not_verified' });
  });

  it('When Google sends email_verified as the string "true", then the address counts as verified', async () => {
    const login = await oauthLogin(
      harness,
      clientFor(harness.app),
      'google',
      googleIdentity({ email_verified: 'true' }),
    );
    expect(login.response.status).toBe(200);
  });

  it('When the provider email belongs to a password account, then login answers 409 oauth:email_already_exists and links nothing', async () => {
    const { app } = harness;
    const { user } = await createUser(app.deps);
    const identity = googleIdentity({ email: user.email.toUpperCase() });
    const login = await oauthLogin(harness, clientFor(app), 'google', identity);
    expect(login.error).toMatchObject({ status: 409, code: 'oauth:email_already_exists' });
    const rows = await app.deps.db.write('user_oauth_connections').where({ user_id: user.id });
    expect(rows).toEqual([]);
  });

  it('When the linked user has TOTP, then OAuth login answers 202 with a temp token and only the code opens the session', async () => {
    const { app } = harness;
    const { user, password } = await createUser(app.deps);
    const owner = await signedInClient(app, { email: user.email, password: password! });
    const { secret } = (await owner.POST('/v0/auth/totp/setup')).data!;
    await owner.POST('/v0/auth/totp/enable', { body: { code: await codeAt(secret, 0) } });
    const identity = githubIdentity();
    await app.deps.db.write('user_oauth_connections').insert({
      id: crypto.randomUUID(),
      user_id: user.id,
      provider: 'github',
      provider_user_id: String(identity.id),
    });

    const browser = clientFor(app);
    const login = await oauthLogin(harness, browser, 'github', identity);
    expect(login.response.status).toBe(202);
    const tempToken = login.data && 'temp_token' in login.data ? login.data.temp_token : '';
    expect(login.data).toEqual({ totp_required: true, temp_token: tempToken });
    expect((await browser.GET('/v0/user/me')).error?.code).toBe('auth:unauthorized');

    const verify = await browser.POST('/v0/auth/totp/verify', {
      body: { temp_token: tempToken, code: await codeAt(secret, 1) },
    });
    expect(verify.response.status).toBe(204);
    expect((await browser.GET('/v0/user/me')).data?.id).toBe(user.id);
    const logins = await actionLogsOf(app, user.id, 'auth:login');
    expect(logins.map((log) => log.summary)).toContain('Logged in with GitHub and a second factor');
  });
});
