import { describe, expect, it } from 'vitest';
import {
  PASSWORD_MAX_BYTES,
  exceedsPasswordByteLimit,
  hashPassword,
  verifyAgainstDummy,
  verifyPassword,
} from './password.ts';

describe('password hashing', () => {
  it('When a password is hashed, then the PHC string is argon2id (m=19456, t=2, p=1) and verifies', async () => {
    const digest = await hashPassword('correct horse battery staple');
    expect(digest).toMatch(/^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
    expect(await verifyPassword(digest, 'correct horse battery staple')).toBe(true);
    expect(await verifyPassword(digest, 'correct horse battery stapler')).toBe(false);
  });

  it('When a password is over 1 KiB in UTF-8 though short in characters, then the byte check catches it', () => {
    // 300 four-byte characters: 600 UTF-16 units, 1200 bytes.
    const emoji = '😀'.repeat(300);
    expect(exceedsPasswordByteLimit(emoji)).toBe(true);
    expect(exceedsPasswordByteLimit('é'.repeat(PASSWORD_MAX_BYTES / 2))).toBe(false);
    expect(exceedsPasswordByteLimit('é'.repeat(PASSWORD_MAX_BYTES / 2 + 1))).toBe(true);
  });

  it('When a password over 1 KiB is hashed, then it is refused as a validation error without hashing', async () => {
    const started = performance.now();
    await expect(hashPassword('x'.repeat(PASSWORD_MAX_BYTES + 1))).rejects.toMatchObject({
      code: 'general:validation_error',
    });
    // Far below one argon2 run (~20 ms+): nothing was hashed.
    expect(performance.now() - started).toBeLessThan(5);
  });

  it('When a candidate over 1 KiB is verified, then it is wrong without being hashed', async () => {
    const digest = await hashPassword('a perfectly fine password');
    const started = performance.now();
    expect(await verifyPassword(digest, 'y'.repeat(PASSWORD_MAX_BYTES + 1))).toBe(false);
    expect(performance.now() - started).toBeLessThan(5);
  });

  it('When the dummy verification runs, then it always fails and costs a real argon2 verify', async () => {
    await verifyAgainstDummy('warm-up');
    const started = performance.now();
    expect(await verifyAgainstDummy('any password at all')).toBe(false);
    expect(performance.now() - started).toBeGreaterThan(5);
  });
});
