import { generate } from 'otplib';
import {
  encryptTotpSecret,
  generateBackupCodes,
  hashBackupCode,
} from '../../src/modules/totp/totp-crypto.ts';
import { newTotpSecret } from '../../src/modules/totp/totp-codes.ts';
import type { UserRow } from '../../src/shared/db/rows.ts';
import type { TestApp } from '../support/app.ts';

/**
 * The code of the step `offset` steps from now. Offsets 0 and +1 stay inside the server's
 * ±1 window even when the step rolls over between generating and verifying, and they are
 * two different codes, so a test has two fresh codes without waiting for the next step.
 */
export function codeAt(secret: string, offset: 0 | 1): Promise<string> {
  return generate({ secret, epoch: Math.floor(Date.now() / 1000) + offset * 30 });
}

/** A 6-digit code that matches none of the steps the server could accept around now. */
export async function wrongCode(secret: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const near = new Set(
    await Promise.all([-2, -1, 0, 1, 2].map((k) => generate({ secret, epoch: now + k * 30 }))),
  );
  let candidate = Number(await generate({ secret, epoch: now }));
  do candidate = (candidate + 1) % 1_000_000;
  while (near.has(String(candidate).padStart(6, '0')));
  return String(candidate).padStart(6, '0');
}

/**
 * Turns TOTP on for an existing user straight in the database, as totpEnable leaves it, so
 * a test spends none of its fresh codes on enabling.
 */
export async function enableTotpFor(
  app: TestApp,
  userId: string,
  options: { backupCodes?: string[] } = {},
): Promise<{ secret: string; backupCodes: string[] }> {
  const { encryptionKey, backupCodeSecret } = app.deps.config.totp;
  const secret = newTotpSecret();
  const backupCodes = options.backupCodes ?? generateBackupCodes();
  await app.deps.db
    .write<UserRow>('users')
    .where({ id: userId })
    .update({
      totp_secret: encryptTotpSecret(encryptionKey, secret),
      totp_enabled_at: new Date(),
      totp_backup_codes: backupCodes.map((code) => hashBackupCode(backupCodeSecret, code)),
    });
  return { secret, backupCodes };
}

export function postJson(
  app: TestApp,
  path: string,
  body: Record<string, unknown>,
  cookie?: string,
): Promise<Response> {
  return fetch(`${app.baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) },
    body: JSON.stringify(body),
  });
}

export function getMe(app: TestApp, cookie: string): Promise<Response> {
  return fetch(`${app.baseUrl}/v0/user/me`, { headers: { cookie } });
}

export async function errorCode(response: Response): Promise<string> {
  return ((await response.json()) as { code: string }).code;
}
