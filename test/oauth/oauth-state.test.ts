import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisKeys } from '../../src/shared/constants/redis-keys.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { clientFor, signedInClient } from '../support/client.ts';
import { createUser } from '../support/factories.ts';
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

const providerEnv = () => ({ ...process.env, ...harness.google.env, ...harness.github.env });

describe('OAuth state', () => {
  it('When authorize is called, then the state is a UUID stored in Redis for 5 minutes, and the URL carries the client, redirect URI, scopes and an S256 challenge', async () => {
    const { data } = await clientFor(harness.app).GET('/v0/auth/oauth/{provider}/authorize', {
      params: { path: { provider: 'google' } },
    });
    const url = new URL(data!.auth_url);
    expect(`${url.origin}${url.pathname}`).toBe(harness.google.env.GOOGLE_AUTH_URL);
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      response_type: 'code',
      client_id: harness.google.clientId,
      redirect_uri: harness.google.env.GOOGLE_REDIRECT_URI,
      scope: 'openid email profile',
      code_challenge_method: 'S256',
    });
    const state = url.searchParams.get('state')!;
    expect(state).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const ttl = await harness.app.deps.redis.session.ttl(redisKeys.oauthState(state));
    expect(ttl).toBeGreaterThan(240);
    expect(ttl).toBeLessThanOrEqual(300);
  });

  it('When the callback comes back to another browser, then login answers 400 oauth:invalid_state and the state is used up for the first one too', async () => {
    const first = clientFor(harness.app);
    const { code, state } = await authorizeAt(harness, first, 'google', googleIdentity());
    const other = clientFor(harness.app);
    const stolen = await other.POST('/v0/auth/oauth/{provider}/login', {
      params: { path: { provider: 'google' } },
      body: { code, state },
    });
    expect(stolen.error).toMatchObject({ status: 400, code: 'oauth:invalid_state' });
    const own = await first.POST('/v0/auth/oauth/{provider}/login', {
      params: { path: { provider: 'google' } },
      body: { code, state },
    });
    expect(own.error).toMatchObject({ status: 400, code: 'oauth:invalid_state' });
  });

  it('When a Google state is sent to the GitHub login, then it answers 400 oauth:invalid_state', async () => {
    const browser = clientFor(harness.app);
    const { code, state } = await authorizeAt(harness, browser, 'google', googleIdentity());
    const answer = await browser.POST('/v0/auth/oauth/{provider}/login', {
      params: { path: { provider: 'github' } },
      body: { code, state },
    });
    expect(answer.error).toMatchObject({ status: 400, code: 'oauth:invalid_state' });
  });

  it('When a link state is sent to login, or a login state to link, then both answer 400 oauth:invalid_state', async () => {
    const { user, password } = await createUser(harness.app.deps);
    const browser = await signedInClient(harness.app, { email: user.email, password: password! });
    const forLink = await authorizeAt(harness, browser, 'github', githubIdentity(), 'link');
    const asLogin = await browser.POST('/v0/auth/oauth/{provider}/login', {
      params: { path: { provider: 'github' } },
      body: { code: forLink.code, state: forLink.state },
    });
    expect(asLogin.error).toMatchObject({ status: 400, code: 'oauth:invalid_state' });

    const forLogin = await authorizeAt(harness, browser, 'github', githubIdentity(), 'login');
    const asLink = await browser.POST('/v0/auth/oauth/{provider}/link', {
      params: { path: { provider: 'github' } },
      body: { code: forLogin.code, state: forLogin.state },
    });
    expect(asLink.error).toMatchObject({ status: 400, code: 'oauth:invalid_state' });
  });

  it('When a successful callback is replayed, then the replay answers 400 oauth:invalid_state', async () => {
    const browser = clientFor(harness.app);
    const { code, state } = await authorizeAt(harness, browser, 'google', googleIdentity());
    const send = () =>
      browser.POST('/v0/auth/oauth/{provider}/login', {
        params: { path: { provider: 'google' } },
        body: { code, state },
      });
    expect((await send()).response.status).toBe(200);
    expect((await send()).error).toMatchObject({ status: 400, code: 'oauth:invalid_state' });
  });

  it('When the state was never issued, then login answers 400 oauth:invalid_state', async () => {
    const answer = await clientFor(harness.app).POST('/v0/auth/oauth/{provider}/login', {
      params: { path: { provider: 'google' } },
      body: { code: 'some-code', state: '0194a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b' },
    });
    expect(answer.error).toMatchObject({ status: 400, code: 'oauth:invalid_state' });
  });

  describe('with a one-second state lifetime', () => {
    let shortLived: TestApp;
    beforeAll(async () => {
      shortLived = await startTestApp({ oauth: { stateTtlSeconds: 1 } }, providerEnv());
    });
    afterAll(async () => {
      await shortLived.close();
    });

    it('When the state has expired, then login answers 400 oauth:invalid_state', async () => {
      const browser = clientFor(shortLived);
      const { code, state } = await authorizeAt(
        { ...harness, app: shortLived },
        browser,
        'google',
        googleIdentity(),
      );
      const key = redisKeys.oauthState(state);
      await eventually(async () => (await shortLived.deps.redis.session.exists(key)) === 0, 15_000);
      const answer = await browser.POST('/v0/auth/oauth/{provider}/login', {
        params: { path: { provider: 'google' } },
        body: { code, state },
      });
      expect(answer.error).toMatchObject({ status: 400, code: 'oauth:invalid_state' });
    });
  });
});

describe('PKCE', () => {
  it('When the code is exchanged, then the token request carries the verifier of the challenge in the authorization URL', async () => {
    const browser = clientFor(harness.app);
    const { code, state, authUrl } = await authorizeAt(
      harness,
      browser,
      'google',
      googleIdentity(),
    );
    await browser.POST('/v0/auth/oauth/{provider}/login', {
      params: { path: { provider: 'google' } },
      body: { code, state },
    });
    const request = harness.google.tokenRequests.at(-1)!;
    expect(request).toMatchObject({ grant_type: 'authorization_code', code });
    const challenge = createHash('sha256').update(request.code_verifier!).digest('base64url');
    expect(challenge).toBe(new URL(authUrl).searchParams.get('code_challenge'));
  });

  it.each(['google', 'github'] as const)(
    'When a %s code meets the verifier of another authorization, then the provider refuses it and login answers 502 oauth:token_exchange_failed',
    async (provider) => {
      const browser = clientFor(harness.app);
      const identity = provider === 'google' ? googleIdentity() : githubIdentity();
      const first = await authorizeAt(harness, browser, provider, identity);
      const second = await authorizeAt(harness, browser, provider, identity);
      const answer = await browser.POST('/v0/auth/oauth/{provider}/login', {
        params: { path: { provider } },
        body: { code: first.code, state: second.state },
      });
      expect(answer.error).toMatchObject({ status: 502, code: 'oauth:token_exchange_failed' });
    },
  );
});

describe('provider failures', () => {
  it('When Google refuses the code with invalid_grant, then login answers 502 oauth:token_exchange_failed', async () => {
    const login = await oauthLogin(
      harness,
      clientFor(harness.app),
      'google',
      googleIdentity({ refuseCode: true }),
    );
    expect(login.error).toMatchObject({ status: 502, code: 'oauth:token_exchange_failed' });
  });

  it('When GitHub refuses the code with HTTP 200 and an error field, then login answers 502 oauth:token_exchange_failed', async () => {
    const browser = clientFor(harness.app);
    const { state } = await authorizeAt(harness, browser, 'github', githubIdentity());
    const answer = await browser.POST('/v0/auth/oauth/{provider}/login', {
      params: { path: { provider: 'github' } },
      body: { code: 'not-a-code-github-issued', state },
    });
    expect(answer.error).toMatchObject({ status: 502, code: 'oauth:token_exchange_failed' });
  });

  it('When Google userinfo fails, then login answers 502 oauth:user_info_fetch_failed', async () => {
    const login = await oauthLogin(
      harness,
      clientFor(harness.app),
      'google',
      googleIdentity({ userinfoStatus: 503 }),
    );
    expect(login.error).toMatchObject({ status: 502, code: 'oauth:user_info_fetch_failed' });
  });

  it('When Google answers the code without an access token, then login answers 502 oauth:token_exchange_failed', async () => {
    const login = await oauthLogin(
      harness,
      clientFor(harness.app),
      'google',
      googleIdentity({ omitAccessToken: true }),
    );
    expect(login.error).toMatchObject({ status: 502, code: 'oauth:token_exchange_failed' });
  });

  it('When Google userinfo has no usable email address, then login answers 502 oauth:user_info_fetch_failed', async () => {
    const login = await oauthLogin(
      harness,
      clientFor(harness.app),
      'google',
      googleIdentity({ email: 'not an address' }),
    );
    expect(login.error).toMatchObject({ status: 502, code: 'oauth:user_info_fetch_failed' });
  });

  it('When GitHub /user answers something that is not JSON, then login answers 502 oauth:user_info_fetch_failed', async () => {
    const login = await oauthLogin(
      harness,
      clientFor(harness.app),
      'github',
      githubIdentity({ userAsHtml: true }),
    );
    expect(login.error).toMatchObject({ status: 502, code: 'oauth:user_info_fetch_failed' });
  });

  it('When GitHub /user/emails fails, then login answers 502 oauth:user_info_fetch_failed', async () => {
    const login = await oauthLogin(
      harness,
      clientFor(harness.app),
      'github',
      githubIdentity({ emailsStatus: 500 }),
    );
    expect(login.error).toMatchObject({ status: 502, code: 'oauth:user_info_fetch_failed' });
  });

  describe('with a short provider timeout', () => {
    let impatient: TestApp;
    beforeAll(async () => {
      impatient = await startTestApp({ oauth: { timeoutMs: 300 } }, providerEnv());
    });
    afterAll(async () => {
      harness.github.hangTokenRequests = false;
      await impatient.close();
    });

    it('When the token endpoint never answers, then login answers 502 oauth:token_exchange_failed', async () => {
      const browser = clientFor(impatient);
      const { code, state } = await authorizeAt(
        { ...harness, app: impatient },
        browser,
        'github',
        githubIdentity(),
      );
      harness.github.hangTokenRequests = true;
      const answer = await browser.POST('/v0/auth/oauth/{provider}/login', {
        params: { path: { provider: 'github' } },
        body: { code, state },
      });
      harness.github.hangTokenRequests = false;
      expect(answer.error).toMatchObject({ status: 502, code: 'oauth:token_exchange_failed' });
    });
  });
});

describe('a provider without a client id', () => {
  let plain: TestApp;
  beforeAll(async () => {
    const env = { ...providerEnv(), GITHUB_CLIENT_ID: '' };
    plain = await startTestApp({}, env);
  });
  afterAll(async () => {
    await plain.close();
  });

  it('When GitHub has no client id, then its authorize, login and link answer 404 general:not_found while Google works', async () => {
    const { user, password } = await createUser(plain.deps);
    const browser = await signedInClient(plain, { email: user.email, password: password! });
    const authorize = await browser.GET('/v0/auth/oauth/{provider}/authorize', {
      params: { path: { provider: 'github' } },
    });
    expect(authorize.error).toMatchObject({ status: 404, code: 'general:not_found' });
    for (const path of [
      '/v0/auth/oauth/{provider}/login',
      '/v0/auth/oauth/{provider}/link',
    ] as const) {
      const answer = await browser.POST(path, {
        params: { path: { provider: 'github' } },
        body: { code: 'code', state: '0194a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b' },
      });
      expect(answer.error).toMatchObject({ status: 404, code: 'general:not_found' });
    }
    const google = await browser.GET('/v0/auth/oauth/{provider}/authorize', {
      params: { path: { provider: 'google' } },
    });
    expect(google.response.status).toBe(200);
  });
});
