import { randomBytes } from 'node:crypto';
import type { ExpressKitClient } from '../../../client/src/index.ts';
import type { AppOptions } from '../../../src/app.ts';
import type { ServerConfig } from '../../../src/config/server.ts';
import type { ActionLogRow, OAuthProvider } from '../../../src/shared/db/rows.ts';
import { startTestApp, type TestApp } from '../../support/app.ts';
import { uniqueHandle } from '../../support/factories.ts';
import {
  startGithubProvider,
  type GithubIdentity,
  type GithubProvider,
} from './github-provider.ts';
import {
  startGoogleProvider,
  type GoogleIdentity,
  type GoogleProvider,
} from './google-provider.ts';

export interface OAuthHarness {
  app: TestApp;
  google: GoogleProvider;
  github: GithubProvider;
  close(): Promise<void>;
}

type ConfigOverrides = { [K in keyof ServerConfig]?: Partial<ServerConfig[K]> };

/** Both providers as real local servers, and the app configured for them through its env. */
export async function startOAuthHarness(
  overrides: ConfigOverrides = {},
  options: AppOptions = {},
): Promise<OAuthHarness> {
  const google = await startGoogleProvider();
  const github = await startGithubProvider();
  const app = await startTestApp(
    overrides,
    { ...process.env, ...google.env, ...github.env },
    options,
  );
  return {
    app,
    google,
    github,
    async close() {
      await app.close();
      await google.close();
      await github.close();
    },
  };
}

/**
 * Identities carry no avatar unless a test gives one: every avatar becomes an import job in the
 * shared job stream, which a worker consumer elsewhere in the suite would then fetch.
 */
export function googleIdentity(overrides: Partial<GoogleIdentity> = {}): GoogleIdentity {
  const id = randomBytes(8).toString('hex');
  return {
    sub: `1${BigInt(`0x${id}`).toString()}`,
    email: `g${id}@gmail.test`,
    email_verified: true,
    name: `Grace ${id}`,
    ...overrides,
  };
}

export function githubIdentity(overrides: Partial<GithubIdentity> = {}): GithubIdentity {
  const id = randomBytes(8).toString('hex');
  return {
    id: Number.parseInt(id.slice(0, 10), 16),
    login: `octo-${id}`,
    name: `Octo ${id}`,
    emails: [
      { email: `other-${id}@users.noreply.github.test`, primary: false, verified: true },
      { email: `o${id}@github.test`, primary: true, verified: true, visibility: 'private' },
    ],
    ...overrides,
  };
}

export type Identity = { google: GoogleIdentity; github: GithubIdentity };

/** oauthAuthorize, then the provider's sign-in page: the code and state the callback gets. */
export async function authorizeAt<P extends OAuthProvider>(
  harness: OAuthHarness,
  client: ExpressKitClient,
  provider: P,
  identity: Identity[P],
  flow: 'login' | 'link' = 'login',
): Promise<{ code: string; state: string; authUrl: string }> {
  const { data, error } = await client.GET('/v0/auth/oauth/{provider}/authorize', {
    params: { path: { provider }, query: { flow } },
  });
  if (!data) throw new Error(`authorize failed: ${error?.code}`);
  const callback =
    provider === 'google'
      ? await harness.google.authorize(data.auth_url, identity as GoogleIdentity)
      : await harness.github.authorize(data.auth_url, identity as GithubIdentity);
  return { ...callback, authUrl: data.auth_url };
}

/** The whole login dance: authorize, the provider, then the frontend's POST of code and state. */
export async function oauthLogin<P extends OAuthProvider>(
  harness: OAuthHarness,
  client: ExpressKitClient,
  provider: P,
  identity: Identity[P],
) {
  const { code, state } = await authorizeAt(harness, client, provider, identity);
  return client.POST('/v0/auth/oauth/{provider}/login', {
    params: { path: { provider } },
    body: { code, state },
  });
}

/** A new OAuth user all the way to a signed-in account; returns the handle it chose. */
export async function oauthSignUp<P extends OAuthProvider>(
  harness: OAuthHarness,
  client: ExpressKitClient,
  provider: P,
  identity: Identity[P],
): Promise<{ handle: string; pendingToken: string }> {
  const login = await oauthLogin(harness, client, provider, identity);
  const pendingToken = login.data && 'pending_token' in login.data ? login.data.pending_token : '';
  if (login.response.status !== 200) throw new Error(`login answered ${login.response.status}`);
  const handle = uniqueHandle('o');
  const done = await client.POST('/v0/auth/complete-signup', {
    body: { pending_token: pendingToken, handle },
  });
  if (done.response.status !== 204) {
    throw new Error(`complete-signup answered ${done.response.status} ${done.error?.code}`);
  }
  return { handle, pendingToken };
}

export async function actionLogsOf(
  app: TestApp,
  userId: string,
  action: ActionLogRow['action'],
): Promise<ActionLogRow[]> {
  return app.deps.db
    .write<ActionLogRow>('action_logs')
    .where({ actor_id: userId, action })
    .orderBy('id');
}
