import { createHash, randomBytes } from 'node:crypto';
import type { SharedConfig } from '../../config/shared.ts';
import type { RedisClient } from '../../shared/clients/redis.ts';
import { defineRedisScript } from '../../shared/clients/redis-script.ts';
import { redisKeys } from '../../shared/constants/redis-keys.ts';
import { UUID_PATTERN } from '../../shared/db/ids.ts';

export type EmailTokenKind = 'verification' | 'password_reset' | 'email_change';

export interface EmailTokenRecord {
  userId: string;
  /** What the flow must know when the link comes back (e.g. the new address of an email change). */
  data: Record<string, string>;
}

export interface EmailTokens {
  /**
   * Mints a token for the user and returns its value, the only copy (it goes into the email).
   * The user's previous token of the same kind stops working at once.
   */
  issue(kind: EmailTokenKind, userId: string, data?: Record<string, string>): Promise<string>;
  /** Redeems a token exactly once; unknown, expired, replaced or used tokens read as undefined. */
  consume(kind: EmailTokenKind, token: string): Promise<EmailTokenRecord | undefined>;
}

const SECRET_BYTES = 32;

/**
 * What Redis keeps under the user's one key per kind: the digest of the live token's secret
 * (never the secret, so a read of Redis yields no usable link) and the flow's data.
 */
interface StoredToken {
  digest: string;
  record: EmailTokenRecord;
}

// Redeems the token only while it is the user's live one of its kind, and deletes it in the
// same step: of two concurrent redemptions exactly one gets the record. A value that is not a
// stored token (written by hand) reads as no token rather than failing. ARGV: the digest.
const consumeScript = defineRedisScript(`
local stored = redis.call('GET', KEYS[1])
if not stored then return false end
local decoded, token = pcall(cjson.decode, stored)
if not decoded or token.digest ~= ARGV[1] then return false end
redis.call('DEL', KEYS[1])
return stored`);

function digest(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

function ttlSeconds(kind: EmailTokenKind, ttl: SharedConfig['emailTokens']): number {
  const minutes = {
    verification: ttl.verificationTtlMinutes,
    password_reset: ttl.passwordResetTtlMinutes,
    email_change: ttl.emailChangeTtlMinutes,
  }[kind];
  return minutes * 60;
}

/** `<user id>.<secret>`: the user id names the token's key, the secret proves the link. */
function parseToken(token: string): { userId: string; secret: string } | undefined {
  const dot = token.indexOf('.');
  const userId = token.slice(0, dot);
  const secret = token.slice(dot + 1);
  return dot > 0 && UUID_PATTERN.test(userId) && secret.length > 0 ? { userId, secret } : undefined;
}

/**
 * Single-use tokens for emailed links, kept in the session Redis (which never evicts). Each
 * user has at most one live token of a kind, stored under one key that every step names, so
 * issuing a token replaces the previous one in a single SET.
 */
export function createEmailTokens(
  redis: RedisClient,
  ttl: SharedConfig['emailTokens'],
): EmailTokens {
  return {
    async issue(kind, userId, data = {}) {
      const secret = randomBytes(SECRET_BYTES).toString('base64url');
      const stored: StoredToken = { digest: digest(secret), record: { userId, data } };
      await redis.set(
        redisKeys.emailToken(kind, userId),
        JSON.stringify(stored),
        'EX',
        ttlSeconds(kind, ttl),
      );
      return `${userId}.${secret}`;
    },

    async consume(kind, token) {
      const parsed = parseToken(token);
      if (!parsed) return undefined;
      const stored = (await consumeScript(
        redis,
        [redisKeys.emailToken(kind, parsed.userId)],
        [digest(parsed.secret)],
      )) as string | null;
      if (stored === null) return undefined;
      return (JSON.parse(stored) as StoredToken).record;
    },
  };
}
