import { randomBytes } from 'node:crypto';
import type { ServerConfig } from '../../../config/server.ts';

/**
 * What a session stores beside express-session's own `cookie` field. Times are epoch
 * milliseconds. `expires_at` mirrors the Redis TTL, so refresh decisions need no PTTL call.
 */
export interface SessionFields {
  user_id: string;
  /** Shown by the list endpoint and used to revoke; never the cookie id. */
  public_id: string;
  created_at: number;
  /** The absolute cap: creation + AUTH_SESSION_MAX_LIFETIME_HOURS. */
  max_expires_at: number;
  /** The sliding expiry, never past max_expires_at. */
  expires_at: number;
  last_seen_at: number;
  user_agent: string | null;
  ip: string | null;
  remember_me: boolean;
}

export interface SessionPolicy {
  slidingTtlMs: number;
  /** Refresh once less than this share of the sliding TTL remains. */
  refreshBelowMs: number;
  maxLifetimeMs: number;
}

const HOUR_MS = 3_600_000;

/** last_seen_at is kept to the minute, so an active session is rewritten at most once a minute. */
export const LAST_SEEN_GRANULARITY_MS = 60_000;

const USER_AGENT_MAX_LENGTH = 512;

export function sessionPolicy(config: ServerConfig['session']): SessionPolicy {
  const slidingTtlMs = config.slidingTtlHours * HOUR_MS;
  return {
    slidingTtlMs,
    refreshBelowMs: (slidingTtlMs * config.refreshThresholdPercent) / 100,
    maxLifetimeMs: config.maxLifetimeHours * HOUR_MS,
  };
}

/** 256-bit, URL-safe: the id behind the signed cookie. */
export function newSessionId(): string {
  return randomBytes(32).toString('base64url');
}

export function newSessionFields(
  policy: SessionPolicy,
  now: number,
  input: { userId: string; rememberMe: boolean; userAgent: string | null; ip: string | null },
): SessionFields {
  const maxExpiresAt = now + policy.maxLifetimeMs;
  return {
    user_id: input.userId,
    public_id: randomBytes(16).toString('base64url'),
    created_at: now,
    max_expires_at: maxExpiresAt,
    expires_at: Math.min(now + policy.slidingTtlMs, maxExpiresAt),
    last_seen_at: now,
    user_agent: input.userAgent?.slice(0, USER_AGENT_MAX_LENGTH) ?? null,
    ip: input.ip,
    remember_me: input.rememberMe,
  };
}

export function isPastLifetime(fields: Pick<SessionFields, 'max_expires_at'>, now: number) {
  return now >= fields.max_expires_at;
}

/** The new sliding expiry when the remaining TTL fell below the threshold, else undefined. */
export function refreshedExpiry(
  fields: Pick<SessionFields, 'expires_at' | 'max_expires_at'>,
  policy: SessionPolicy,
  now: number,
): number | undefined {
  if (fields.expires_at - now >= policy.refreshBelowMs) return undefined;
  const next = Math.min(now + policy.slidingTtlMs, fields.max_expires_at);
  return next > fields.expires_at ? next : undefined;
}

/**
 * How long a session that reached its absolute cap is kept past it: long enough that the
 * client's next request finds it and answers `auth:session_expired` (and destroys it), where
 * a key gone at the cap could only say `auth:unauthorized`.
 */
export const EXPIRED_NOTICE_MS = 24 * HOUR_MS;

/** Seconds left for the Redis key; 0 or less means the session must not be stored. */
export function ttlSeconds(
  fields: Partial<Pick<SessionFields, 'expires_at' | 'max_expires_at'>>,
  now: number,
) {
  if (fields.expires_at === undefined) return 0;
  const capped = fields.max_expires_at !== undefined && fields.expires_at >= fields.max_expires_at;
  const keepUntil = capped ? fields.expires_at + EXPIRED_NOTICE_MS : fields.expires_at;
  return Math.ceil((keepUntil - now) / 1000);
}
