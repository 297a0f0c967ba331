import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decryptTotpSecret } from '../../src/modules/totp/totp-crypto.ts';
import type { UserRow } from '../../src/shared/db/rows.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { createSignedInUser, signIn } from '../support/factories.ts';
import { codeAt, enableTotpFor, errorCode, getMe, postJson, wrongCode } from './totp-support.ts';

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app.close();
});

interface SetupBody {
  secret: string;
  otpauth_uri: string;
  qr_code_data_url: string;
}

const userRow = async (id: string) =>
  (await app.deps.db.write<UserRow>('users').where({ id }).first())!;

interface StatusBody {
  enabled: boolean;
  enabled_at: string | null;
  backup_codes_remaining: number;
}

const status = async (cookie: string): Promise<StatusBody> => {
  const response = await fetch(`${app.baseUrl}/v0/auth/totp/status`, { headers: { cookie } });
  expect(response.status).toBe(200);
  return (await response.json()) as StatusBody;
};

async function setup(cookie: string): Promise<SetupBody> {
  const response = await postJson(app, '/v0/auth/totp/setup', {}, cookie);
  expect(response.status).toBe(200);
  return (await response.json()) as SetupBody;
}

/** A signed-in user with TOTP on (enabled in the database, so no code is spent on it). */
async function signedInTotpUser() {
  const { user, password, cookie } = await createSignedInUser(app.deps, app.baseUrl);
  const totp = await enableTotpFor(app, user.id);
  return { user, password: password!, cookie, ...totp };
}

describe('POST /v0/auth/totp/setup', () => {
  it('When a signed-in user starts a setup, then it returns the secret, its otpauth URI and a PNG QR code, and stores the secret encrypted and pending', async () => {
    const { user, cookie } = await createSignedInUser(app.deps, app.baseUrl);
    const body = await setup(cookie);
    expect(body.secret).toMatch(/^[A-Z2-7]{32}$/);
    const uri = new URL(body.otpauth_uri);
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.host).toBe('totp');
    expect(decodeURIComponent(uri.pathname)).toBe(`/ExpressKit:${user.email}`);
    expect(uri.searchParams.get('issuer')).toBe('ExpressKit');
    expect(uri.searchParams.get('secret')).toBe(body.secret);
    const png = Buffer.from(body.qr_code_data_url.replace('data:image/png;base64,', ''), 'base64');
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');

    const row = await userRow(user.id);
    expect(row.totp_secret).not.toContain(body.secret);
    expect(decryptTotpSecret(app.deps.config.totp.encryptionKey, row.totp_secret!)).toBe(
      body.secret,
    );
    expect(row.totp_enabled_at).toBeNull();
    expect(await status(cookie)).toEqual({
      enabled: false,
      enabled_at: null,
      backup_codes_remaining: 0,
    });
  });

  it('When a setup is restarted, then the new secret replaces the pending one', async () => {
    const { cookie } = await createSignedInUser(app.deps, app.baseUrl);
    const first = await setup(cookie);
    const second = await setup(cookie);
    expect(second.secret).not.toBe(first.secret);
    const stale = await postJson(
      app,
      '/v0/auth/totp/enable',
      { code: await codeAt(first.secret, 0) },
      cookie,
    );
    expect(stale.status).toBe(400);
    expect(await errorCode(stale)).toBe('totp:invalid_code');
    const fresh = await postJson(
      app,
      '/v0/auth/totp/enable',
      { code: await codeAt(second.secret, 0) },
      cookie,
    );
    expect(fresh.status).toBe(200);
  });

  it('When TOTP is already enabled, then setup answers 409 totp:already_enabled', async () => {
    const { cookie } = await signedInTotpUser();
    const response = await postJson(app, '/v0/auth/totp/setup', {}, cookie);
    expect(response.status).toBe(409);
    expect(await errorCode(response)).toBe('totp:already_enabled');
  });

  it('When there is no session, then setup answers 401 auth:unauthorized', async () => {
    const response = await postJson(app, '/v0/auth/totp/setup', {});
    expect(response.status).toBe(401);
    expect(await errorCode(response)).toBe('auth:unauthorized');
  });
});

describe('POST /v0/auth/totp/enable', () => {
  it('When the code matches the pending secret, then TOTP is on and 10 backup codes are returned once and stored only as HMACs', async () => {
    const { user, cookie } = await createSignedInUser(app.deps, app.baseUrl);
    const { secret } = await setup(cookie);
    const response = await postJson(
      app,
      '/v0/auth/totp/enable',
      { code: await codeAt(secret, 0) },
      cookie,
    );
    expect(response.status).toBe(200);
    const { backup_codes } = (await response.json()) as { backup_codes: string[] };
    expect(backup_codes).toHaveLength(10);
    expect(new Set(backup_codes).size).toBe(10);
    for (const code of backup_codes) expect(code).toMatch(/^[A-Z0-9]{8}$/);

    const row = await userRow(user.id);
    expect(row.totp_enabled_at).toBeInstanceOf(Date);
    expect(row.totp_backup_codes).toHaveLength(10);
    for (const stored of row.totp_backup_codes!) {
      expect(stored).toMatch(/^[0-9a-f]{64}$/);
      expect(backup_codes).not.toContain(stored);
    }
    expect(await status(cookie)).toEqual({
      enabled: true,
      enabled_at: row.totp_enabled_at!.toISOString(),
      backup_codes_remaining: 10,
    });
    expect(await (await getMe(app, cookie)).json()).toMatchObject({ totp_enabled: true });
  });

  it('When the code is wrong, then it answers 400 totp:invalid_code and TOTP stays off', async () => {
    const { user, cookie } = await createSignedInUser(app.deps, app.baseUrl);
    const { secret } = await setup(cookie);
    const response = await postJson(
      app,
      '/v0/auth/totp/enable',
      { code: await wrongCode(secret) },
      cookie,
    );
    expect(response.status).toBe(400);
    expect(await errorCode(response)).toBe('totp:invalid_code');
    expect((await userRow(user.id)).totp_enabled_at).toBeNull();
  });

  it('When no setup is pending, then it answers 400 general:bad_request', async () => {
    const { cookie } = await createSignedInUser(app.deps, app.baseUrl);
    const response = await postJson(app, '/v0/auth/totp/enable', { code: '123456' }, cookie);
    expect(response.status).toBe(400);
    expect(await errorCode(response)).toBe('general:bad_request');
  });

  it('When TOTP is already enabled, then it answers 409 totp:already_enabled', async () => {
    const { cookie, secret } = await signedInTotpUser();
    const response = await postJson(
      app,
      '/v0/auth/totp/enable',
      { code: await codeAt(secret, 0) },
      cookie,
    );
    expect(response.status).toBe(409);
    expect(await errorCode(response)).toBe('totp:already_enabled');
  });
});

describe('POST /v0/auth/totp/disable', () => {
  it('When the code is right, then TOTP is off and every other session ends while the current one stays', async () => {
    const { user, password, cookie: current } = await createSignedInUser(app.deps, app.baseUrl);
    const other = await signIn(app.baseUrl, { email: user.email, password: password! });
    const { secret } = await enableTotpFor(app, user.id);

    const response = await postJson(
      app,
      '/v0/auth/totp/disable',
      { code: await codeAt(secret, 0) },
      current,
    );
    expect(response.status).toBe(204);
    expect((await getMe(app, current)).status).toBe(200);
    expect((await getMe(app, other)).status).toBe(401);
    const row = await userRow(user.id);
    expect(row).toMatchObject({
      totp_secret: null,
      totp_enabled_at: null,
      totp_backup_codes: null,
    });
    // The password alone logs in again.
    await signIn(app.baseUrl, { email: user.email, password: password! });
  });

  it('When a backup code is given, then it disables TOTP too', async () => {
    const { cookie, backupCodes } = await signedInTotpUser();
    const response = await postJson(
      app,
      '/v0/auth/totp/disable',
      { code: backupCodes[5]! },
      cookie,
    );
    expect(response.status).toBe(204);
    expect((await status(cookie)).enabled).toBe(false);
  });

  it('When the code is wrong, then it answers 400 totp:invalid_code and TOTP stays on', async () => {
    const { cookie, secret } = await signedInTotpUser();
    const response = await postJson(
      app,
      '/v0/auth/totp/disable',
      { code: await wrongCode(secret) },
      cookie,
    );
    expect(response.status).toBe(400);
    expect(await errorCode(response)).toBe('totp:invalid_code');
    expect((await status(cookie)).enabled).toBe(true);
  });

  it('When TOTP is not enabled, then it answers 400 totp:not_enabled', async () => {
    const { cookie } = await createSignedInUser(app.deps, app.baseUrl);
    const response = await postJson(app, '/v0/auth/totp/disable', { code: '123456' }, cookie);
    expect(response.status).toBe(400);
    expect(await errorCode(response)).toBe('totp:not_enabled');
  });
});

describe('POST /v0/auth/totp/backup-codes/regenerate', () => {
  it('When the code is right, then 10 new codes replace the old ones, which stop working', async () => {
    const { cookie, secret, backupCodes } = await signedInTotpUser();
    const response = await postJson(
      app,
      '/v0/auth/totp/backup-codes/regenerate',
      { code: await codeAt(secret, 0) },
      cookie,
    );
    expect(response.status).toBe(200);
    const { backup_codes } = (await response.json()) as { backup_codes: string[] };
    expect(backup_codes).toHaveLength(10);
    expect(backup_codes.filter((code) => backupCodes.includes(code))).toEqual([]);

    const old = await postJson(
      app,
      '/v0/auth/totp/backup-codes/regenerate',
      { code: backupCodes[0]! },
      cookie,
    );
    expect(old.status).toBe(400);
    expect(await errorCode(old)).toBe('totp:invalid_code');
    const renewed = await postJson(
      app,
      '/v0/auth/totp/backup-codes/regenerate',
      { code: backup_codes[0]! },
      cookie,
    );
    expect(renewed.status).toBe(200);
  });

  it('When a TOTP code was just accepted, then the same code is refused here within 90 s', async () => {
    const { cookie, secret } = await signedInTotpUser();
    const code = await generate({ secret });
    const path = '/v0/auth/totp/backup-codes/regenerate';
    expect((await postJson(app, path, { code }, cookie)).status).toBe(200);
    const replay = await postJson(app, path, { code }, cookie);
    expect(replay.status).toBe(400);
    expect(await errorCode(replay)).toBe('totp:invalid_code');
  });

  it('When TOTP is not enabled, then it answers 400 totp:not_enabled', async () => {
    const { cookie } = await createSignedInUser(app.deps, app.baseUrl);
    const response = await postJson(
      app,
      '/v0/auth/totp/backup-codes/regenerate',
      { code: '123456' },
      cookie,
    );
    expect(response.status).toBe(400);
    expect(await errorCode(response)).toBe('totp:not_enabled');
  });
});

describe('GET /v0/auth/totp/status', () => {
  it('When there is no session, then it answers 401 auth:unauthorized', async () => {
    const response = await fetch(`${app.baseUrl}/v0/auth/totp/status`);
    expect(response.status).toBe(401);
    expect(await errorCode(response)).toBe('auth:unauthorized');
  });
});
