import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.ts';
import { createUser, signIn } from '../support/factories.ts';

let trusting: TestApp;
let plain: TestApp;

beforeAll(async () => {
  // Each built from the environment as an operator writes it, through the config schema.
  trusting = await startTestApp({}, { ...process.env, TRUST_PROXY: 'true' });
  plain = await startTestApp({}, { ...process.env, TRUST_PROXY: '' });
});
afterAll(async () => {
  await trusting.close();
  await plain.close();
});

/** The client IP an app recorded for a login sent with this X-Forwarded-For. */
async function loginIp(app: TestApp, forwardedFor: string): Promise<string | null> {
  const { user, password } = await createUser(app.deps);
  const cookie = await signIn(
    app.baseUrl,
    { email: user.email, password: password! },
    { 'x-forwarded-for': forwardedFor },
  );
  const response = await fetch(`${app.baseUrl}/v0/auth/sessions`, { headers: { cookie } });
  const { sessions } = (await response.json()) as { sessions: { ip: string | null }[] };
  return sessions[0]?.ip ?? null;
}

describe('TRUST_PROXY', () => {
  it('When TRUST_PROXY=true, then the app builds and takes the client from X-Forwarded-For', async () => {
    expect(trusting.deps.config.http.trustProxy).toBe(true);
    expect(await loginIp(trusting, '203.0.113.9')).toBe('203.0.113.9');
  });

  it('When it is empty, then a forwarded header is ignored and the socket address is the client', async () => {
    expect(plain.deps.config.http.trustProxy).toBe(false);
    expect(await loginIp(plain, '203.0.113.9')).toMatch(/127\.0\.0\.1$/);
  });
});
