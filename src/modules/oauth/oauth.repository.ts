import type { OAuthConnectionRow, OAuthProvider } from '../../shared/db/rows.ts';
import type { Executor } from '../../shared/db/transaction.ts';

export async function findConnection(
  executor: Executor,
  provider: OAuthProvider,
  providerUserId: string,
): Promise<OAuthConnectionRow | undefined> {
  return executor<OAuthConnectionRow>('user_oauth_connections')
    .where({ provider, provider_user_id: providerUserId })
    .first();
}

export async function listConnections(
  executor: Executor,
  userId: string,
): Promise<OAuthConnectionRow[]> {
  return executor<OAuthConnectionRow>('user_oauth_connections')
    .where({ user_id: userId })
    .orderBy([{ column: 'created_at' }, { column: 'id' }]);
}

export type NewConnection = Pick<
  OAuthConnectionRow,
  'id' | 'user_id' | 'provider' | 'provider_user_id'
>;

/**
 * Inserts unless the provider account is linked to anyone or the user already has this
 * provider (both unique); returns whether it did. DO NOTHING keeps the caller's transaction
 * usable, and a concurrent link of the same account waits here for the other to commit.
 */
export async function insertConnection(
  executor: Executor,
  connection: NewConnection,
): Promise<boolean> {
  const inserted: unknown[] = await executor('user_oauth_connections')
    .insert(connection)
    .onConflict()
    .ignore()
    .returning('id');
  return inserted.length > 0;
}

export async function deleteConnection(
  executor: Executor,
  userId: string,
  provider: OAuthProvider,
): Promise<void> {
  await executor('user_oauth_connections').where({ user_id: userId, provider }).delete();
}
