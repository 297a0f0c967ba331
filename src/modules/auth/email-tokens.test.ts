import { createHash, randomUUID } from 'node:crypto';
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

const tokenKey = (kind: string, token: string) =>
  redisKeys.emailToken(kind, createHash('sha256').update(token).digest('hex'));

describe('email tokens', () => {
  it('When a token is issued, then it is 256 random bits in base64url and redeems to its user and data', async () => {
    const userId = randomUUID();
    const token = await tokens.issue('email_change', userId, { new_email: 'new@example.com' });

    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(token, 'base64url')).toHaveLength(32);
    await expect(tokens.consume('email_change', token)).resolves.toEqual({
      userId,
      data: { new_email: 'new@example.com' },
    });
  });

  it('When a token is stored, then Redis holds only its SHA-256 digest, with the TTL of its kind', async () => {
    const userId = randomUUID();
    const token = await tokens.issue('verification', userId);

    const stored = await redis.get(tokenKey('verification', token));
    expect(stored).not.toBeNull();
    expect(stored).not.toContain(token);
    expect(await redis.get(redisKeys.userEmailToken('verification', userId))).not.toContain(token);
    expect(await redis.ttl(tokenKey('verification', token))).toBeGreaterThan(1440 * 60 - 5);

    const reset = await tokens.issue('password_reset', userId);
    const resetTtl = await redis.ttl(tokenKey('password_reset', reset));
    expect(resetTtl).toBeGreaterThan(60 * 60 - 5);
    expect(resetTtl).toBeLessThanOrEqual(60 * 60);
  });

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

  it('When many tokens are issued to one user at once, then exactly one of them stays live', async () => {
    const userId = randomUUID();
    const issued = await Promise.all(
      Array.from({ length: 10 }, () => tokens.issue('verification', userId)),
    );

    const live = await Promise.all(issued.map((t) => redis.exists(tokenKey('verification', t))));
    expect(live.filter((n) => n === 1)).toHaveLength(1);
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

  it('When a token is issued, then its key and the user pointer expire after the configured lifetime of its kind', async () => {
    const userId = randomUUID();
    const lifetimeMs = ttl.emailChangeTtlMinutes * 60_000;
    const before = Date.now();
    const token = await tokens.issue('email_change', userId);
    const pttls = await Promise.all([
      redis.pttl(tokenKey('email_change', token)),
      redis.pttl(redisKeys.userEmailToken('email_change', userId)),
    ]);
    // Redis counts the TTL down from the SET; only the time spent since then may be missing.
    const elapsedMs = Date.now() - before;
    for (const pttl of pttls) {
      expect(pttl).toBeLessThanOrEqual(lifetimeMs);
      expect(pttl).toBeGreaterThanOrEqual(lifetimeMs - elapsedMs - 1);
    }
  });

  it('When a token’s key is gone (never issued, or expired by Redis), then it reads as undefined', async () => {
    expect(await tokens.consume('email_change', 'never-issued')).toBeUndefined();
  });
});
