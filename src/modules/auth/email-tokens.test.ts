import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadServerConfig } from '../../config/server.ts';
import { closeRedis, createRedis, type RedisClient } from '../../shared/clients/redis.ts';
import { redisKeys } from '../../shared/constants/redis-keys.ts';
import { createEmailTokens, type EmailTokens } from './email-tokens.ts';

const ttl = { verificationTtlMinutes: 1440, passwordResetTtlMinutes: 60, emailChangeTtlMinutes: 5 };

let redis: RedisClient;
let tokens: EmailTokens;

beforeAll(async () => {
  redis = await createRedis(loadServerConfig().redis.sessionUrl, 'email-tokens-test');
  tokens = createEmailTokens(redis, ttl);
});
afterAll(async () => {
  await closeRedis(redis);
});

const secretOf = (token: string) => token.slice(token.indexOf('.') + 1);

describe('email tokens', () => {
  it('When a token is issued, then it is the user id and 256 random bits in base64url, and redeems to its user and data', async () => {
    const userId = randomUUID();
    const token = await tokens.issue('email_change', userId, { new_email: 'new@example.com' });

    expect(token.startsWith(`${userId}.`)).toBe(true);
    expect(secretOf(token)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(secretOf(token), 'base64url')).toHaveLength(32);
    await expect(tokens.consume('email_change', token)).resolves.toEqual({
      userId,
      data: { new_email: 'new@example.com' },
    });
  });

  it('When a token is stored, then Redis holds only the digest of its secret, under one key per user and kind', async () => {
    const userId = randomUUID();
    const token = await tokens.issue('verification', userId);

    const stored = await redis.get(redisKeys.emailToken('verification', userId));
    expect(stored).not.toBeNull();
    expect(stored).not.toContain(secretOf(token));
  });

  it.each([
    ['verification', 1440],
    ['password_reset', 60],
    ['email_change', 5],
  ] as const)(
    'When a %s token is issued, then its key expires after the configured %i minutes',
    async (kind, minutes) => {
      const userId = randomUUID();
      await tokens.issue(kind, userId);

      const pttl = await redis.pttl(redisKeys.emailToken(kind, userId));
      // Set by issue() itself: a token that never expired, or lived longer, would fail here.
      expect(pttl).toBeGreaterThan((minutes * 60 - 30) * 1000);
      expect(pttl).toBeLessThanOrEqual(minutes * 60 * 1000);
    },
  );

  it('When a token is redeemed twice, then it works once', async () => {
    const token = await tokens.issue('verification', randomUUID());

    expect(await tokens.consume('verification', token)).toBeDefined();
    expect(await tokens.consume('verification', token)).toBeUndefined();
  });

  it('When ten requests redeem the same token at once, then exactly one gets it', async () => {
    const token = await tokens.issue('password_reset', randomUUID());

    const results = await Promise.all(
      Array.from({ length: 10 }, () => tokens.consume('password_reset', token)),
    );
    expect(results.filter((r) => r !== undefined)).toHaveLength(1);
  });

  it('When a new token of the same kind is issued, then the old token dies and the new one works', async () => {
    const userId = randomUUID();
    const old = await tokens.issue('verification', userId);
    const fresh = await tokens.issue('verification', userId);

    expect(await tokens.consume('verification', old)).toBeUndefined();
    expect(await tokens.consume('verification', fresh)).toMatchObject({ userId });
  });

  it('When many tokens are issued to one user at once, then exactly one of them redeems', async () => {
    const userId = randomUUID();
    const issued = await Promise.all(
      Array.from({ length: 10 }, () => tokens.issue('verification', userId)),
    );

    const redeemed = [];
    for (const token of issued) redeemed.push(await tokens.consume('verification', token));
    expect(redeemed.filter((r) => r !== undefined)).toHaveLength(1);
  });

  it('When tokens of other kinds or other users are issued, then a live token is unaffected', async () => {
    const userId = randomUUID();
    const token = await tokens.issue('verification', userId);
    await tokens.issue('password_reset', userId);
    await tokens.issue('verification', randomUUID());

    expect(await tokens.consume('verification', token)).toMatchObject({ userId });
  });

  it('When a token is redeemed as another kind, then it is refused and stays valid for its own kind', async () => {
    const token = await tokens.issue('password_reset', randomUUID());

    expect(await tokens.consume('verification', token)).toBeUndefined();
    expect(await tokens.consume('email_change', token)).toBeUndefined();
    expect(await tokens.consume('password_reset', token)).toBeDefined();
  });

  it('When a token names another user, then it is refused and both users keep their own', async () => {
    const alice = randomUUID();
    const bob = randomUUID();
    const aliceToken = await tokens.issue('password_reset', alice);
    const bobToken = await tokens.issue('password_reset', bob);

    expect(
      await tokens.consume('password_reset', `${bob}.${secretOf(aliceToken)}`),
    ).toBeUndefined();
    expect(await tokens.consume('password_reset', aliceToken)).toMatchObject({ userId: alice });
    expect(await tokens.consume('password_reset', bobToken)).toMatchObject({ userId: bob });
  });

  it('When the stored value is not a token (written by hand), then the link reads as invalid, not as an error', async () => {
    const userId = randomUUID();
    await redis.set(redisKeys.emailToken('password_reset', userId), 'not json', 'EX', 60);

    expect(await tokens.consume('password_reset', `${userId}.some-secret`)).toBeUndefined();
  });

  it.each([
    ['never issued', `${randomUUID()}.never-issued`],
    ['without a user id', 'no-dot-at-all'],
    ['with a malformed user id', 'not-a-uuid.secret'],
    ['with an empty secret', `${randomUUID()}.`],
  ])('When a token is %s, then it reads as undefined', async (_case, token) => {
    expect(await tokens.consume('email_change', token)).toBeUndefined();
  });
});
