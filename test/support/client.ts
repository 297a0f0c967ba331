import { createExpressKitClient } from '../../client/src/index.ts';
import type { ExpressKitClient, ExpressKitClientOptions } from '../../client/src/index.ts';
import type { TestApp } from './app.ts';

/**
 * The typed client bound to the in-process app. Each client has its own cookie jar, so one
 * client is one browser: a login in it is its session, and two clients are two sessions.
 */
export function clientFor(
  app: Pick<TestApp, 'baseUrl'>,
  options: Omit<ExpressKitClientOptions, 'baseUrl'> = {},
): ExpressKitClient {
  return createExpressKitClient({ baseUrl: app.baseUrl, cookieJar: true, ...options });
}

/** A client signed in with a password; throws unless the login answers 204. */
export async function signedInClient(
  app: Pick<TestApp, 'baseUrl'>,
  credentials: { email: string; password: string },
  options: Omit<ExpressKitClientOptions, 'baseUrl'> = {},
): Promise<ExpressKitClient> {
  const client = clientFor(app, options);
  const { response, error } = await client.POST('/v0/auth/login', {
    body: { ...credentials, remember_me: false },
  });
  if (response.status !== 204) {
    throw new Error(`login failed: ${response.status} ${error?.code ?? 'no error code'}`);
  }
  return client;
}
