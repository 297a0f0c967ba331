import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientFor, signedInClient } from '../support/client.ts';
import { createUser } from '../support/factories.ts';
import {
  actionLogsOf,
  authorizeAt,
  githubIdentity,
  googleIdentity,
  oauthLogin,
  oauthSignUp,
  startOAuthHarness,
  type Identity,
  type OAuthHarness,
} from './support/oauth-harness.ts';
import type { ExpressKitClient } from '../../client/src/index.ts';
import type { OAuthProvider } from '../../src/shared/db/rows.ts';

let harness: OAuthHarness;

beforeAll(async () => {
  harness = await startOAuthHarness();
});
afterAll(async () => {
  await harness.close();
});

async function passwordUser() {
  const { user, password } = await createUser(harness.app.deps);
  const credentials = { email: user.email, password: password! };
  return { user, credentials, client: await signedInClient(harness.app, credentials) };
}

async function link<P extends OAuthProvider>(
  client: ExpressKitClient,
  provider: P,
  identity: Identity[P],
) {
  const { code, state } = await authorizeAt(harness, client, provider, identity, 'link');
  return client.POST('/v0/auth/oauth/{provider}/link', {
    params: { path: { provider } },
    body: { code, state },
  });
}

const unlink = (client: ExpressKitClient, provider: OAuthProvider) =>
  client.POST('/v0/auth/oauth/connections/unlink', { body: { provider } });

describe('linking', () => {
  it('When a signed-in user links Google, then the connection is listed, oauth:link is logged, and Google signs in to the account', async () => {
    const { user, client } = await passwordUser();
    expect((await client.GET('/v0/auth/oauth/connections')).data).toEqual({ connections: [] });
    const identity = googleIdentity();

    expect((await link(client, 'google', identity)).response.status).toBe(204);

    const { connections } = (await client.GET('/v0/auth/oauth/connections')).data!;
    expect(connections.map((connection) => connection.provider)).toEqual(['google']);
    const logs = await actionLogsOf(harness.app, user.id, 'oauth:link');
    expect(logs.map((log) => [log.summary, log.metadata])).toEqual([
      ['Linked Google', { provider: 'google' }],
    ]);
    const browser = clientFor(harness.app);
    expect((await oauthLogin(harness, browser, 'google', identity)).response.status).toBe(204);
    expect((await browser.GET('/v0/user/me')).data?.id).toBe(user.id);
  });

  it('When the provider account is linked to another user, then link answers 409 oauth:account_already_linked', async () => {
    const identity = githubIdentity();
    await oauthSignUp(harness, clientFor(harness.app), 'github', identity);
    const { user, client } = await passwordUser();
    const answer = await link(client, 'github', identity);
    expect(answer.error).toMatchObject({ status: 409, code: 'oauth:account_already_linked' });
    expect(await actionLogsOf(harness.app, user.id, 'oauth:link')).toEqual([]);
  });

  it('When the user already has a GitHub account linked, then linking a second one answers 409 oauth:account_already_linked', async () => {
    const { client } = await passwordUser();
    expect((await link(client, 'github', githubIdentity())).response.status).toBe(204);
    const second = await link(client, 'github', githubIdentity());
    expect(second.error).toMatchObject({ status: 409, code: 'oauth:account_already_linked' });
  });

  it('When link is called without a session, then it answers 401 auth:unauthorized', async () => {
    const browser = clientFor(harness.app);
    const answer = await browser.POST('/v0/auth/oauth/{provider}/link', {
      params: { path: { provider: 'google' } },
      body: { code: 'code', state: '0194a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b' },
    });
    expect(answer.error).toMatchObject({ status: 401, code: 'auth:unauthorized' });
  });

  it("When a link state started by one user is finished in another user's session, then it answers 400 oauth:invalid_state and nothing is linked", async () => {
    const attacker = await passwordUser();
    const victim = await passwordUser();
    const identity = googleIdentity();
    const { code, state } = await authorizeAt(harness, attacker.client, 'google', identity, 'link');
    // The anonymous id is the client's to set: the victim's browser is given the attacker's,
    // so only the user binding is left to refuse the state.
    const anonymous = (await attacker.client.cookieJar!.getCookies(harness.app.baseUrl)).find(
      (cookie) => cookie.key === 'anonymous_user_id',
    );
    await victim.client.cookieJar!.setCookie(anonymous!.toString(), harness.app.baseUrl);

    const answer = await victim.client.POST('/v0/auth/oauth/{provider}/link', {
      params: { path: { provider: 'google' } },
      body: { code, state },
    });

    expect(answer.error).toMatchObject({ status: 400, code: 'oauth:invalid_state' });
    expect((await victim.client.GET('/v0/auth/oauth/connections')).data).toEqual({
      connections: [],
    });
    expect(await actionLogsOf(harness.app, victim.user.id, 'oauth:link')).toEqual([]);
  });

  it('When authorize is asked for a link without a session, then it answers 401 auth:unauthorized', async () => {
    const answer = await clientFor(harness.app).GET('/v0/auth/oauth/{provider}/authorize', {
      params: { path: { provider: 'google' }, query: { flow: 'link' } },
    });
    expect(answer.error).toMatchObject({ status: 401, code: 'auth:unauthorized' });
  });
});

describe('unlinking', () => {
  it('When an OAuth-only user unlinks their only connection, then it answers 400 oauth:cannot_unlink_last_connection and the connection stays', async () => {
    const client = clientFor(harness.app);
    await oauthSignUp(harness, client, 'google', googleIdentity());
    const answer = await unlink(client, 'google');
    expect(answer.error).toMatchObject({
      status: 400,
      code: 'oauth:cannot_unlink_last_connection',
    });
    const { connections } = (await client.GET('/v0/auth/oauth/connections')).data!;
    expect(connections.map((connection) => connection.provider)).toEqual(['google']);
  });

  it('When an OAuth-only user with two connections unlinks one, then the other still signs in', async () => {
    const client = clientFor(harness.app);
    const github = githubIdentity();
    await oauthSignUp(harness, client, 'google', googleIdentity());
    expect((await link(client, 'github', github)).response.status).toBe(204);
    expect((await unlink(client, 'google')).response.status).toBe(204);
    const again = await unlink(client, 'github');
    expect(again.error).toMatchObject({ status: 400, code: 'oauth:cannot_unlink_last_connection' });
    expect(
      (await oauthLogin(harness, clientFor(harness.app), 'github', github)).response.status,
    ).toBe(204);
  });

  it('When a user unlinks a provider, then every other session ends, the caller stays signed in, oauth:unlink is logged and the provider no longer signs in', async () => {
    const { user, client, credentials } = await passwordUser();
    const identity = googleIdentity({ email: user.email });
    await link(client, 'google', identity);
    const viaGoogle = clientFor(harness.app);
    expect((await oauthLogin(harness, viaGoogle, 'google', identity)).response.status).toBe(204);
    const viaPassword = await signedInClient(harness.app, credentials);

    expect((await unlink(client, 'google')).response.status).toBe(204);

    expect((await client.GET('/v0/user/me')).data?.id).toBe(user.id);
    expect((await viaGoogle.GET('/v0/user/me')).error?.code).toBe('auth:unauthorized');
    expect((await viaPassword.GET('/v0/user/me')).error?.code).toBe('auth:unauthorized');
    const logs = await actionLogsOf(harness.app, user.id, 'oauth:unlink');
    expect(logs.map((log) => log.summary)).toEqual(['Unlinked Google']);
    const login = await oauthLogin(harness, clientFor(harness.app), 'google', identity);
    expect(login.error).toMatchObject({ status: 409, code: 'oauth:email_already_exists' });
  });

  it('When the provider is not linked, then unlink answers 404 oauth:connection_not_found', async () => {
    const { client } = await passwordUser();
    const answer = await unlink(client, 'github');
    expect(answer.error).toMatchObject({ status: 404, code: 'oauth:connection_not_found' });
  });

  it('When a connection is linked or unlinked, then the cached user snapshot is invalidated', async () => {
    const { user, client } = await passwordUser();
    const cached = () => harness.app.deps.redis.cache.get(`cache:user:${user.id}`);
    await client.GET('/v0/user/me');
    expect(await cached()).toContain(user.id);
    await link(client, 'github', githubIdentity());
    expect(await cached()).toBe('-');

    await harness.app.deps.redis.cache.del(`cache:user:${user.id}`);
    await client.GET('/v0/user/me');
    expect(await cached()).toContain(user.id);
    await unlink(client, 'github');
    expect(await cached()).toBe('-');
  });
});
