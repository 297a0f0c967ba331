import { randomBytes } from 'node:crypto';
import type { Dependencies } from '../../src/dependencies.ts';
import { hashPassword } from '../../src/modules/auth/password.ts';
import { newId } from '../../src/shared/db/ids.ts';
import type { UserRow } from '../../src/shared/db/rows.ts';

export type UserOverrides = Partial<Omit<UserRow, 'password'>> & {
  /** The plain password to hash, or null for an OAuth-only account. */
  password?: string | null;
};

export interface CreatedUser {
  user: UserRow;
  /** The plain password (null for an OAuth-only account). */
  password: string | null;
}

/** A handle no other test uses: 3–20 of [A-Za-z0-9_], not starting or ending with `_`. */
export function uniqueHandle(prefix = 'u'): string {
  return `${prefix}${randomBytes(6).toString('hex')}`.slice(0, 20);
}

/**
 * Inserts a verified user with an argon2id password (hashed by the app's own password
 * module, so login verifies it exactly as it verifies real accounts).
 */
export async function createUser(
  deps: Pick<Dependencies, 'db'>,
  overrides: UserOverrides = {},
): Promise<CreatedUser> {
  const { password: plain = `pw-${randomBytes(12).toString('base64url')}`, ...columns } = overrides;
  const handle = columns.handle ?? uniqueHandle();
  const [user] = await deps.db
    .write<UserRow>('users')
    .insert({
      id: newId(),
      handle,
      display_name: `Display ${handle}`,
      email: `${handle.toLowerCase()}@example.test`,
      verified_at: new Date(),
      ...columns,
      password: plain === null ? null : await hashPassword(plain),
    })
    .returning('*');
  return { user: user!, password: plain };
}
