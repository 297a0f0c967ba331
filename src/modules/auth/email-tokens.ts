import { createHash, randomBytes } from 'node:crypto';
import type { ServerConfig } from '../../config/server.ts';
import type { RedisClient } from '../../shared/clients/redis.ts';
import { redisKeys } from '../../shared/constants/redis-keys.ts';

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

const TOKEN_BYTES = 32;

// One script so that replacing the previous token and storing the new one is atomic: two
// concurrent issues can never leave two live tokens. The pointer holds the token's key.
const ISSUE_SCRIPT = `
local previous = redis.call('GET', KEYS[1])
if previous then redis.call('DEL', previous) end
redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[2])
redis.call('SET', KEYS[1], KEYS[2], 'EX', ARGV[2])
return 1
`;

/** Only the digest is stored, so a read of Redis yields no usable link. */
function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function ttlSeconds(kind: EmailTokenKind, ttl: ServerConfig['emailTokens']): number {
  const minutes = {
    verification: ttl.verificationTtlMinutes,
    password_reset: ttl.passwordResetTtlMinutes,
    email_change: ttl.emailChangeTtlMinutes,
  }[kind];
  return minutes * 60;
}

function parseRecord(stored: string): EmailTokenRecord | undefined {
  const value = JSON.parse(stored) as Partial<EmailTokenRecord>;
  if (typeof value.userId !== 'string') return undefined;
  return { userId: value.userId, data: value.data ?? {} };
}

/** Single-use tokens for emailed links, kept in the session Redis (which never evicts). */
export function createEmailTokens(
  redis: RedisClient,
  ttl: ServerConfig['emailTokens'],
): EmailTokens {
  return {
    async issue(kind, userId, data = {}) {
      const token = randomBytes(TOKEN_BYTES).toString('base64url');
      const record: EmailTokenRecord = { userId, data };
      await redis.eval(
        ISSUE_SCRIPT,
        2,
        redisKeys.userEmailToken(kind, userId),
        redisKeys.emailToken(kind, digest(token)),
        JSON.stringify(record),
        ttlSeconds(kind, ttl),
      );
      return token;
    },

    async consume(kind, token) {
      // GETDEL: of two concurrent redemptions exactly one gets the record.
      const stored = await redis.getdel(redisKeys.emailToken(kind, digest(token)));
      return stored === null ? undefined : parseRecord(stored);
    },
  };
}
