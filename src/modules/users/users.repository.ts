import type { Executor } from '../../shared/db/transaction.ts';
import type { UserRow } from '../../shared/db/rows.ts';
import { SNAPSHOT_COLUMNS, type UserSnapshot } from './user-snapshot.ts';

export async function findById(executor: Executor, id: string): Promise<UserRow | undefined> {
  return executor<UserRow>('users').where({ id }).first();
}

/** The user row, locked until the transaction ends: changes to its sign-in methods queue up. */
export async function findByIdForUpdate(trx: Executor, id: string): Promise<UserRow | undefined> {
  return trx<UserRow>('users').where({ id }).forUpdate().first();
}

/** The secret-free projection a signed-in request carries; the secrets never leave PostgreSQL. */
export async function findSnapshotById(
  executor: Executor,
  id: string,
): Promise<UserSnapshot | undefined> {
  return executor<UserSnapshot>('users')
    .where({ id })
    .first(
      ...SNAPSHOT_COLUMNS,
      executor.raw('password is not null as has_password'),
      executor.raw('totp_enabled_at is not null as totp_enabled'),
    );
}

/** Emails are stored lowercased, but the lookup goes through lower() to use the unique index. */
export async function findByEmail(executor: Executor, email: string): Promise<UserRow | undefined> {
  return executor<UserRow>('users')
    .whereRaw('lower(email) = ?', [email.trim().toLowerCase()])
    .first();
}

export type NewUser = Pick<UserRow, 'id' | 'handle' | 'display_name' | 'email' | 'password'> &
  Partial<Pick<UserRow, 'verified_at'>>;

/**
 * Inserts unless the handle or the email is taken (both unique on lower()); returns whether
 * it did. DO NOTHING instead of a unique-violation error keeps the caller's transaction
 * usable, and a concurrent registration of the same handle or email waits here for the
 * other one to commit.
 */
export async function insertUser(executor: Executor, user: NewUser): Promise<boolean> {
  const inserted: unknown[] = await executor('users')
    .insert(user)
    .onConflict()
    .ignore()
    .returning('id');
  return inserted.length > 0;
}

export async function findByHandle(
  executor: Executor,
  handle: string,
): Promise<UserRow | undefined> {
  return executor<UserRow>('users').whereRaw('lower(handle) = lower(?)', [handle]).first();
}

export async function handleExists(executor: Executor, handle: string): Promise<boolean> {
  const row: unknown = await executor('users')
    .whereRaw('lower(handle) = lower(?)', [handle])
    .first(executor.raw('1 as found'));
  return row !== undefined;
}

export async function emailExists(executor: Executor, email: string): Promise<boolean> {
  const row: unknown = await executor('users')
    .whereRaw('lower(email) = lower(?)', [email.trim()])
    .first(executor.raw('1 as found'));
  return row !== undefined;
}

/** Sets verified_at once; false when the user is gone or was already verified. */
export async function markVerified(executor: Executor, id: string): Promise<boolean> {
  const updated = await executor('users')
    .where({ id })
    .whereNull('verified_at')
    .update({ verified_at: executor.fn.now(), updated_at: executor.fn.now() });
  return updated > 0;
}

/** Keyset walk in id order (UUIDv7, so creation order); a null afterId starts from the first user. */
export async function listAfterId(
  executor: Executor,
  afterId: string | null,
  limit: number,
): Promise<UserRow[]> {
  const query = executor<UserRow>('users').orderBy('id').limit(limit);
  if (afterId !== null) query.where('id', '>', afterId);
  return query;
}

export async function updatePassword(
  executor: Executor,
  id: string,
  passwordHash: string,
): Promise<void> {
  await executor('users')
    .where({ id })
    .update({ password: passwordHash, updated_at: executor.fn.now() });
}

/**
 * Sets a confirmed new address, verified by the confirmation itself. Returns false when the
 * address belongs to another account: the unique index on lower(email) decides, so two
 * concurrent confirmations of one address can never both win.
 */
export async function updateEmail(executor: Executor, id: string, email: string): Promise<boolean> {
  try {
    await executor('users')
      .where({ id })
      .update({ email, verified_at: executor.fn.now(), updated_at: executor.fn.now() });
    return true;
  } catch (error) {
    if ((error as { constraint?: unknown }).constraint === 'users_email_lower_unique') return false;
    throw error;
  }
}

export interface ProfileChanges {
  display_name?: string;
  bio?: string | null;
}

/** Sets the given profile fields; false when the user is gone. */
export async function updateProfile(
  executor: Executor,
  id: string,
  changes: ProfileChanges,
): Promise<boolean> {
  const updated = await executor('users')
    .where({ id })
    .update({ ...changes, updated_at: executor.fn.now() });
  return updated > 0;
}
