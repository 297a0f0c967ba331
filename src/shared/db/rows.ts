import type { ActionLogAction, ResourceType } from '../constants/actions.ts';

/** Column-for-column shapes of the tables as pg returns them (timestamptz → Date, inet → string). */

export interface UserRow {
  id: string;
  handle: string;
  display_name: string;
  bio: string | null;
  /** Stored trimmed and lowercased; unique on lower(email). */
  email: string;
  /** argon2id PHC string; null for OAuth-only accounts. */
  password: string | null;
  verified_at: Date | null;
  /** Public-bucket object keys, not URLs. */
  profile_image: string | null;
  banner_image: string | null;
  /** AES-256-GCM ciphertext; the plain secret never reaches the database. */
  totp_secret: string | null;
  totp_enabled_at: Date | null;
  /** HMAC-SHA256 digests of the unused backup codes. */
  totp_backup_codes: string[] | null;
  created_at: Date;
  updated_at: Date;
}

/** Mirrors the `oauth_provider` PostgreSQL enum. */
export type OAuthProvider = 'google' | 'github';

export interface OAuthConnectionRow {
  id: string;
  user_id: string;
  provider: OAuthProvider;
  provider_user_id: string;
  created_at: Date;
}

export interface PostRow {
  id: string;
  author_id: string;
  title: string;
  /** Content-bucket key of the body; the body itself is not in PostgreSQL. */
  storage_key: string;
  created_at: Date;
  updated_at: Date;
}

export interface ActionLogRow {
  id: string;
  action: ActionLogAction;
  actor_id: string | null;
  actor_ip: string | null;
  resource_type: ResourceType;
  resource_id: string;
  summary: string;
  metadata: Record<string, unknown>;
  created_at: Date;
  /** Its place in the event stream, in commit order: a bigint, null until the commit. */
  position: string | null;
}

export interface OutboxRow {
  id: string;
  subject: string;
  payload: unknown;
  created_at: Date;
  sent_at: Date | null;
}
