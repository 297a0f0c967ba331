import { describe, expect, it } from 'vitest';
import { hashPassword, verifyAgainstDummy, verifyPassword } from './password.ts';

describe('password hashing', () => {
  it('When a password is hashed, then the PHC string is argon2id (m=19456, t=2, p=1) and verifies', async () => {
    const digest = await hashPassword('correct horse battery staple');
    expect(digest).toMatch(/^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
    expect(await verifyPassword(digest, 'correct horse battery staple')).toBe(true);
    expect(await verifyPassword(digest, 'correct horse battery stapler')).toBe(false);
  });

  it('When the dummy verification runs, then it always fails and costs a real argon2 verify', async () => {
    await verifyAgainstDummy('warm-up');
    const started = performance.now();
    expect(await verifyAgainstDummy('any password at all')).toBe(false);
    expect(performance.now() - started).toBeGreaterThan(5);
  });
});
