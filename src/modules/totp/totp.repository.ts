import type { Executor } from '../../shared/db/transaction.ts';

/**
 * The TOTP columns of `users`. A secret with no `totp_enabled_at` is a pending setup; every
 * write is conditioned on that state, so concurrent requests cannot both move it.
 */

/** Stores (or replaces) a pending secret; false when TOTP is already enabled. */
export async function savePendingSecret(
  executor: Executor,
  userId: string,
  encryptedSecret: string,
): Promise<boolean> {
  const updated = await executor('users')
    .where({ id: userId })
    .whereNull('totp_enabled_at')
    .update({ totp_secret: encryptedSecret, updated_at: executor.fn.now() });
  return updated > 0;
}

/**
 * Enables the pending secret the code was checked against; false when it was enabled or
 * replaced by another setup in the meantime.
 */
export async function enableTotp(
  executor: Executor,
  userId: string,
  input: { encryptedSecret: string; backupCodeHashes: string[] },
): Promise<boolean> {
  const updated = await executor('users')
    .where({ id: userId, totp_secret: input.encryptedSecret })
    .whereNull('totp_enabled_at')
    .update({
      totp_enabled_at: executor.fn.now(),
      totp_backup_codes: input.backupCodeHashes,
      updated_at: executor.fn.now(),
    });
  return updated > 0;
}

/** Clears the secret and the backup codes; false when TOTP was not enabled. */
export async function disableTotp(executor: Executor, userId: string): Promise<boolean> {
  const updated = await executor('users')
    .where({ id: userId })
    .whereNotNull('totp_enabled_at')
    .update({
      totp_secret: null,
      totp_enabled_at: null,
      totp_backup_codes: null,
      updated_at: executor.fn.now(),
    });
  return updated > 0;
}

/** Replaces every backup code; false when TOTP was not enabled. */
export async function replaceBackupCodes(
  executor: Executor,
  userId: string,
  backupCodeHashes: string[],
): Promise<boolean> {
  const updated = await executor('users')
    .where({ id: userId })
    .whereNotNull('totp_enabled_at')
    .update({ totp_backup_codes: backupCodeHashes, updated_at: executor.fn.now() });
  return updated > 0;
}

/**
 * Removes one backup code in a single statement: of concurrent requests with the same code,
 * exactly one sees its row updated, so each code works once.
 */
export async function consumeBackupCode(
  executor: Executor,
  userId: string,
  backupCodeHash: string,
): Promise<boolean> {
  const result = await executor.raw<{ rowCount: number }>(
    `UPDATE users
        SET totp_backup_codes = array_remove(totp_backup_codes, :hash), updated_at = now()
      WHERE id = :userId AND totp_enabled_at IS NOT NULL AND :hash = ANY(totp_backup_codes)`,
    { hash: backupCodeHash, userId },
  );
  return result.rowCount > 0;
}
