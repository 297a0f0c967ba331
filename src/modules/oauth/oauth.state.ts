import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../../shared/clients/redis.ts';
import { redisKeys } from '../../shared/constants/redis-keys.ts';
import type { OAuthProvider } from '../../shared/db/rows.ts';
import { AppError } from '../../shared/errors/app-error.ts';

export type OAuthFlow = 'login' | 'link';

export interface OAuthStateRecord {
  provider: OAuthProvider;
  flow: OAuthFlow;
  anonymous_id: string;
  /**
   * The signed-in user who started a link, which only they can finish. The anonymous id is the
   * client's to choose, so on its own it would let a state started by one account be finished
   * in another's session (linking the attacker's provider account to the victim).
   */
  user_id?: string;
  code_verifier: string;
}

export async function storeOAuthState(
  redis: RedisClient,
  record: OAuthStateRecord,
  ttlSeconds: number,
): Promise<string> {
  const state = randomUUID();
  await redis.set(redisKeys.oauthState(state), JSON.stringify(record), 'EX', ttlSeconds);
  return state;
}

const invalidState = () =>
  new AppError(
    'oauth:invalid_state',
    'The sign-in attempt expired or is not this one; start again',
  );

/**
 * Takes the state out of Redis (GETDEL, so a replayed callback finds nothing) and checks that
 * it was issued for this provider, this flow, this browser and (for a link) this user. A mismatch uses the state up
 * too: whoever holds a state that does not fit gets no second try with it.
 */
export async function consumeOAuthState(
  redis: RedisClient,
  state: string,
  expected: Omit<OAuthStateRecord, 'code_verifier'>,
): Promise<OAuthStateRecord> {
  const stored = await redis.getdel(redisKeys.oauthState(state));
  if (stored === null) throw invalidState();
  const record = JSON.parse(stored) as OAuthStateRecord;
  if (
    record.provider !== expected.provider ||
    record.flow !== expected.flow ||
    record.anonymous_id !== expected.anonymous_id ||
    record.user_id !== expected.user_id
  ) {
    throw invalidState();
  }
  return record;
}
