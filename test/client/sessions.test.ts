import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.ts';
import { signedInClient } from '../support/client.ts';
import { createUser } from '../support/factories.ts';

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app.close();
});

/** One user signed in from two devices, each a client with its own jar and user agent. */
async function twoDevices() {
  const { user, password } = await createUser(app.deps);
  const credentials = { email: user.email, password: password! };
  const laptop = await signedInClient(app, credentials, { headers: { 'user-agent': 'laptop' } });
  const phone = await signedInClient(app, credentials, { headers: { 'user-agent': 'phone' } });
  return { user, laptop, phone };
}

describe('sessions through the typed client', () => {
  it('When one device lists the sessions and revokes the other, then the other is signed out at once and the list shrinks to the caller', async () => {
    const { user, laptop, phone } = await twoDevices();

    const listed = (await laptop.GET('/v0/auth/sessions')).data!.sessions;
    expect(listed.map((s) => [s.user_agent, s.is_current]).sort()).toEqual([
      ['laptop', true],
      ['phone', false],
    ]);
    const other = listed.find((s) => !s.is_current)!;

    const revoked = await laptop.DELETE('/v0/auth/sessions/{id}', {
      params: { path: { id: other.id } },
    });
    expect(revoked.response.status).toBe(204);

    expect((await phone.GET('/v0/user/me')).error?.status).toBe(401);
    expect((await laptop.GET('/v0/user/me')).data?.id).toBe(user.id);
    const left = (await laptop.GET('/v0/auth/sessions')).data!.sessions;
    expect(left).toEqual([expect.objectContaining({ user_agent: 'laptop', is_current: true })]);
  });

  it('When a session id is not one of the caller’s, then 404 session:not_found and every session still works', async () => {
    const { laptop, phone } = await twoDevices();
    const stranger = await twoDevices();
    const [foreign] = (await stranger.laptop.GET('/v0/auth/sessions')).data!.sessions;

    const refused = await laptop.DELETE('/v0/auth/sessions/{id}', {
      params: { path: { id: foreign!.id } },
    });

    expect(refused.error).toMatchObject({ status: 404, code: 'session:not_found' });
    for (const device of [laptop, phone, stranger.laptop, stranger.phone]) {
      expect((await device.GET('/v0/user/me')).response.status).toBe(200);
    }
  });

  it('When a device logs out, then its jar loses the session cookie and the other device stays signed in', async () => {
    const { laptop, phone } = await twoDevices();

    expect((await laptop.POST('/v0/auth/logout')).response.status).toBe(204);

    expect(await laptop.cookieJar!.getCookieString(app.baseUrl)).not.toContain('session_id=');
    expect((await laptop.GET('/v0/user/me')).error?.code).toBe('auth:unauthorized');
    expect((await phone.GET('/v0/auth/sessions')).data?.sessions).toHaveLength(1);
  });
});
