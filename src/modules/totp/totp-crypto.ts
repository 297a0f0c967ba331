import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  randomBytes,
  randomInt,
  timingSafeEqual,
} from 'node:crypto';

const CIPHER = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Stored secrets carry a version so the scheme can change without guessing at old rows. */
const FORMAT = 'v1';

const BACKUP_CODE_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const BACKUP_CODE_LENGTH = 8;
export const BACKUP_CODE_COUNT = 10;

/** `v1:<iv>:<tag>:<ciphertext>`, each base64url; a fresh IV for every encryption. */
export function encryptTotpSecret(key: Buffer, secret: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(CIPHER, key, iv);
  const ciphertext = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  return [FORMAT, iv, cipher.getAuthTag(), ciphertext]
    .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
    .join(':');
}

/** Throws when the value was not produced by encryptTotpSecret under this key. */
export function decryptTotpSecret(key: Buffer, stored: string): string {
  const [format, iv, tag, ciphertext, ...rest] = stored.split(':');
  if (format !== FORMAT || iv === undefined || tag === undefined || ciphertext === undefined) {
    throw new Error('Unrecognised encrypted TOTP secret');
  }
  if (rest.length > 0) throw new Error('Unrecognised encrypted TOTP secret');
  const decipher = createDecipheriv(CIPHER, key, Buffer.from(iv, 'base64url'), {
    authTagLength: TAG_BYTES,
  });
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([
    decipher.update(Buffer.from(ciphertext, 'base64url')),
    decipher.final(),
  ]).toString('utf8');
}

/** Backup codes are typed by hand, so they are compared uppercased. */
export function hashBackupCode(secret: string, code: string): string {
  return createHmac('sha256', secret).update(code.toUpperCase()).digest('hex');
}

/** randomInt draws without modulo bias, so every character of the alphabet is equally likely. */
export function generateBackupCodes(): string[] {
  return Array.from({ length: BACKUP_CODE_COUNT }, () =>
    Array.from({ length: BACKUP_CODE_LENGTH }, () =>
      BACKUP_CODE_ALPHABET.charAt(randomInt(BACKUP_CODE_ALPHABET.length)),
    ).join(''),
  );
}

/**
 * The stored HMAC that matches `hash`, found in constant time: every entry is compared in
 * full, so the timing tells nothing about which or how many entries came close.
 */
export function findBackupCodeHash(stored: readonly string[], hash: string): string | undefined {
  const wanted = Buffer.from(hash, 'hex');
  let match: string | undefined;
  for (const candidate of stored) {
    const bytes = Buffer.from(candidate, 'hex');
    const equal = bytes.length === wanted.length && timingSafeEqual(bytes, wanted);
    if (equal) match = candidate;
  }
  return match;
}
