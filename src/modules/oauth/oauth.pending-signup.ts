import { createHash, randomBytes } from 'node:crypto';
import type { RedisClient } from '../../shared/clients/redis.ts';
import { redisKeys } from '../../shared/constants/redis-keys.ts';
import type { OAuthProvider } from '../../shared/db/rows.ts';

/**
 * A provider identity with no account yet, waiting for its handle. `user_id` and
 * `completed_at` (epoch ms) are set once the account exists: the token then signs in to that
 * account for a short while, so a client that lost the answer to its complete-signup can retry.
 */
export interface PendingSignup {
  provider: OAuthProvider;
  provider_user_id: string;
  email: string;
  display_name: string | null;
  avatar_url: string | null;
  user_id?: string;
  completed_at?: number;
}

const keyOf = (token: string) =>
  redisKeys.oauthPendingSignup(createHash('sha256').update(token).digest('hex'));

/** Stores the pending sign-up under a 256-bit token; only the token's digest is a key. */
export async function storePendingSignup(
  redis: RedisClient,
  signup: PendingSignup,
  ttlSeconds: number,
): Promise<string> {
  const token = randomBytes(32).toString('base64url');
  await redis.set(keyOf(token), JSON.stringify(signup), 'EX', ttlSeconds);
  return token;
}

export async function findPendingSignup(
  redis: RedisClient,
  token: string,
): Promise<PendingSignup | undefined> {
  const stored = await redis.get(keyOf(token));
  return stored === null ? undefined : (JSON.parse(stored) as PendingSignup);
}

/** Records the account the sign-up created, keeping the token's expiry (and not reviving it). */
export async function markPendingSignupCompleted(
  redis: RedisClient,
  token: string,
  signup: PendingSignup,
  userId: string,
): Promise<void> {
  await redis.call(
    'SET',
    keyOf(token),
    JSON.stringify({ ...signup, user_id: userId, completed_at: Date.now() }),
    'XX',
    'KEEPTTL',
  );
}
