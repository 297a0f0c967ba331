import { describe, expect, it } from 'vitest';
import type { UserRow } from '../../shared/db/rows.ts';
import {
  SNAPSHOT_COLUMNS,
  parseSnapshot,
  serializeSnapshot,
  type UserSnapshot,
} from './user-snapshot.ts';
import { toMe, toPublicUser } from './users.mapper.ts';

const row: UserRow = {
  id: '0190a5d2-7c3e-7b1a-9f00-1234567890ab',
  handle: 'ada',
  display_name: 'Ada',
  bio: null,
  email: 'ada@example.com',
  password: '$argon2id$…',
  verified_at: new Date('2025-01-02T00:00:00Z'),
  profile_image: 'user-images/abc.webp',
  banner_image: null,
  totp_secret: 'ciphertext',
  totp_enabled_at: null,
  totp_backup_codes: ['digest'],
  created_at: new Date('2025-01-01T00:00:00Z'),
  updated_at: new Date('2025-01-01T00:00:00Z'),
};
const snapshotFields = Object.fromEntries(
  SNAPSHOT_COLUMNS.map((column) => [column, row[column]]),
) as Pick<UserRow, (typeof SNAPSHOT_COLUMNS)[number]>;
const publicUrl = (key: string | null) => (key ? `https://cdn.example/${key}` : null);

describe('users mapper', () => {
  it('When a user is made public, then image keys become full URLs and private fields stay out', () => {
    expect(toPublicUser(row, publicUrl)).toEqual({
      id: row.id,
      handle: 'ada',
      display_name: 'Ada',
      bio: null,
      profile_image_url: 'https://cdn.example/user-images/abc.webp',
      banner_image_url: null,
      is_verified: true,
      created_at: '2025-01-01T00:00:00.000Z',
    });
  });

  it('When the owner reads themselves, then email, TOTP and password presence are added', () => {
    const snapshot: UserSnapshot = { ...snapshotFields, has_password: false, totp_enabled: true };
    expect(toMe(snapshot, publicUrl)).toEqual({
      ...toPublicUser(row, publicUrl),
      email: 'ada@example.com',
      totp_enabled: true,
      has_password: false,
    });
  });

  it('When a snapshot goes through the cache, then it comes back equal, dates included', () => {
    const snapshot: UserSnapshot = { ...snapshotFields, has_password: true, totp_enabled: false };
    expect(parseSnapshot(serializeSnapshot(snapshot))).toEqual(snapshot);
    expect(parseSnapshot(serializeSnapshot({ ...snapshot, verified_at: null }))).toEqual({
      ...snapshot,
      verified_at: null,
    });
  });
});
