import type { UserRow } from '../../shared/db/rows.ts';

/** The users columns a snapshot copies as they are; no secret is among them. */
export const SNAPSHOT_COLUMNS = [
  'id',
  'handle',
  'display_name',
  'bio',
  'email',
  'profile_image',
  'banner_image',
  'verified_at',
  'created_at',
] as const;

/**
 * What a signed-in request knows of its user: the fields `Me` is made of, and nothing secret
 * (no password hash, TOTP secret or backup codes), so it may be cached outside PostgreSQL.
 */
export type UserSnapshot = Pick<UserRow, (typeof SNAPSHOT_COLUMNS)[number]> & {
  has_password: boolean;
  totp_enabled: boolean;
};

type SerializedSnapshot = Omit<UserSnapshot, 'verified_at' | 'created_at'> & {
  verified_at: string | null;
  created_at: string;
};

export function serializeSnapshot(snapshot: UserSnapshot): string {
  return JSON.stringify(snapshot);
}

export function parseSnapshot(text: string): UserSnapshot {
  const parsed = JSON.parse(text) as SerializedSnapshot;
  return {
    ...parsed,
    verified_at: parsed.verified_at === null ? null : new Date(parsed.verified_at),
    created_at: new Date(parsed.created_at),
  };
}
