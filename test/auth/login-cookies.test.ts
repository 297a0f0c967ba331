import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { serverEnvSpec } from '../../src/config/server.ts';
import { startTestApp } from '../support/app.ts';
import { createUser } from '../support/factories.ts';

/**
 * The app as it runs in another environment: the stack's endpoints, every `local` value the
 * environment would not fall back to on its own, and real-looking secrets.
 */
function environment(overrides: Record<string, string>): NodeJS.ProcessEnv {
  const local = Object.fromEntries(
    Object.entries(serverEnvSpec).flatMap(([name, spec]) =>
      'local' in spec && spec.local !== undefined ? [[name, spec.local]] : [],
    ),
  );
  return {
    ...local,
    ...process.env,
    CORS_ALLOWED_ORIGINS: 'http://localhost:3000',
    SESSION_SECRET: randomBytes(32).toString('hex'),
    TOTP_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    TOTP_SECRET: randomBytes(32).toString('hex'),
    ...overrides,
  };
}

/** Logs a fresh user in on an app built for `env`; returns the session Set-Cookie and a follow-up check. */
async function loginOn(env: NodeJS.ProcessEnv, rememberMe = false) {
  const app = await startTestApp({}, env);
  try {
    const { user, password } = await createUser(app.deps);
    const response = await fetch(`${app.baseUrl}/v0/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: user.email, password, remember_me: rememberMe }),
    });
    expect(response.status).toBe(204);
    const setCookie = response.headers.getSetCookie().find((c) => /session_id=/.test(c))!;
    const cookie = setCookie.split(';')[0]!;
    const me = await fetch(`${app.baseUrl}/v0/user/me`, { headers: { cookie } });
    const logout = await fetch(`${app.baseUrl}/v0/auth/logout`, {
      method: 'POST',
      headers: { cookie },
    });
    const cleared = logout.headers.getSetCookie().find((c) => /session_id=/.test(c))!;
    return { setCookie, meStatus: me.status, cleared };
  } finally {
    await app.close();
  }
}

const attributes = (setCookie: string) =>
  setCookie
    .split(';')
    .slice(1)
    .map((part) => part.trim().split('=')[0]!.toLowerCase())
    .sort();

describe('session cookie flags by environment', () => {
  it('When running in production, then the cookie is __Host-session_id, Secure, HttpOnly, SameSite=Lax, Path=/ and has no Domain', async () => {
    const { setCookie, meStatus, cleared } = await loginOn(environment({ NODE_ENV: 'production' }));
    expect(setCookie).toMatch(/^__Host-session_id=s%3A/);
    expect(setCookie).toMatch(/; Path=\/(;|$)/);
    expect(setCookie).toMatch(/; SameSite=Lax/);
    expect(attributes(setCookie)).toEqual(['httponly', 'path', 'samesite', 'secure']);
    expect(meStatus).toBe(200);
    // Clearing a __Host- cookie only works with the same prefix rules: Secure, Path=/.
    expect(cleared).toMatch(/^__Host-session_id=;/);
    expect(cleared).toMatch(/; Secure/);
    expect(cleared).not.toMatch(/Domain=/i);
  });

  it('When running in production with remember_me, then the cookie also carries Max-Age and Expires', async () => {
    const { setCookie } = await loginOn(environment({ NODE_ENV: 'production' }), true);
    expect(attributes(setCookie)).toEqual([
      'expires',
      'httponly',
      'max-age',
      'path',
      'samesite',
      'secure',
    ]);
  });

  it('When a cookie domain is configured in production, then the cookie is __Secure-session_id with that Domain', async () => {
    const { setCookie, meStatus } = await loginOn(
      environment({ NODE_ENV: 'production', COOKIE_DOMAIN: 'example.test' }),
    );
    expect(setCookie).toMatch(/^__Secure-session_id=s%3A/);
    expect(setCookie).toMatch(/; Domain=example\.test/);
    expect(setCookie).toMatch(/; Secure/);
    expect(meStatus).toBe(200);
  });

  it('When running in development, then the cookie is session_id without Secure', async () => {
    const { setCookie, meStatus } = await loginOn(environment({ NODE_ENV: 'development' }));
    expect(setCookie).toMatch(/^session_id=s%3A/);
    expect(attributes(setCookie)).toEqual(['httponly', 'path', 'samesite']);
    expect(meStatus).toBe(200);
  });
});
