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

/** The `name=value` pair of a response's Set-Cookie for `name`, or undefined. */
export function cookieFrom(response: Response, name = 'session_id'): string | undefined {
  const entry = response.headers.getSetCookie().find((c) => c.startsWith(`${name}=`));
  return entry?.split(';')[0];
}

/** Logs in over HTTP and returns the session cookie to send as the `cookie` header. */
export async function signIn(
  baseUrl: string,
  credentials: { email: string; password: string; remember_me?: boolean },
  headers: Record<string, string> = {},
): Promise<string> {
  const response = await fetch(`${baseUrl}/v0/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(credentials),
  });
  const cookie = cookieFrom(response);
  if (response.status !== 204 || !cookie) {
    throw new Error(`login failed: ${response.status} ${await response.text()}`);
  }
  return cookie;
}

/** A verified user with a live session: the factory user plus the cookie of a fresh login. */
export async function createSignedInUser(
  deps: Pick<Dependencies, 'db'>,
  baseUrl: string,
  overrides: UserOverrides = {},
): Promise<CreatedUser & { cookie: string }> {
  const created = await createUser(deps, overrides);
  const cookie = await signIn(baseUrl, {
    email: created.user.email,
    password: created.password ?? '',
  });
  return { ...created, cookie };
}
