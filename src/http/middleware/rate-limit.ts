import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import type { Request, RequestHandler } from 'express';
import type { RedisClient } from '../../shared/clients/redis.ts';
import { defineRedisScript } from '../../shared/clients/redis-script.ts';
import { redisKeys } from '../../shared/constants/redis-keys.ts';
import { AppError } from '../../shared/errors/app-error.ts';
import { peerAddress } from '../request-ip.ts';

/**
 * An operation's `x-rate-limit`: at most `limit` requests per `windowSeconds`, counted per
 * client (anonymous id and IP) or, for operations behind a session, per signed-in user.
 */
export interface RateLimit {
  limit: number;
  windowSeconds: number;
  key: 'client' | 'user';
}

export interface WindowState {
  /** Requests in the window, this one included when it was admitted. */
  count: number;
  /** Milliseconds until this subject's window frees a slot (0 when it holds nothing). */
  resetMs: number;
}

export interface WindowOutcome {
  admitted: boolean;
  /** One per key, in the order the keys were given. */
  subjects: WindowState[];
}

export interface SlidingWindow {
  /** Admits the request only if every key has room, and then logs it under every key. */
  hit(keys: string[], limit: number, windowMs: number): Promise<WindowOutcome>;
}

const slidingWindowScript = defineRedisScript(
  readFileSync(new URL('./rate-limit.lua', import.meta.url), 'utf8'),
);

export function createSlidingWindow(redis: RedisClient): SlidingWindow {
  return {
    async hit(keys, limit, windowMs) {
      const reply = (await slidingWindowScript(redis, keys, [
        limit,
        windowMs,
        randomUUID(),
      ])) as number[];
      return {
        admitted: reply[0] === 1,
        subjects: keys.map((_, i) => ({
          count: reply[1 + 2 * i] ?? 0,
          resetMs: reply[2 + 2 * i] ?? 0,
        })),
      };
    },
  };
}

/**
 * The IP part of the limiter key. IPv4-mapped IPv6 addresses count as their IPv4 address, and
 * an IPv6 client is limited by its /64: one host usually holds a whole /64, so counting single
 * addresses would let it rotate past the limit.
 */
export function ipSubject(ip: string): string {
  const address = ip.replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1]) return mapped[1];
  if (!isIPv6(address)) return address;
  const [head = '', tail] = address.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  // A trailing dotted quad fills two 16-bit groups.
  const width = (groups: string[]) => groups.reduce((n, g) => n + (g.includes('.') ? 2 : 1), 0);
  const groups =
    tail === undefined
      ? left
      : [...left, ...Array<string>(8 - width(left) - width(right)).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((group) => parseInt(group, 16).toString(16))
    .join(':')}::/64`;
}

/** Remaining quota and reset of the subject that binds: the fuller one, the later on a tie. */
function tightest(limit: number, subjects: WindowState[]) {
  const left = (s: WindowState) => Math.max(limit - s.count, 0);
  const remaining = Math.min(...subjects.map(left));
  const resetMs = Math.max(...subjects.filter((s) => left(s) === remaining).map((s) => s.resetMs));
  return { remaining, resetSeconds: Math.ceil(resetMs / 1000) };
}

export type RateLimiterFactory = (operationId: string, rateLimit: RateLimit) => RequestHandler;

/**
 * The subjects a request is counted under. A client is its anonymous id and its IP (the cookie
 * is client-controlled, so it alone proves nothing); a request passes only when both have
 * room. A user is the signed-in account, whatever session, cookie or address it comes from, so
 * a stolen session cannot spread its guesses over fresh cookies or addresses.
 */
function subjectsOf(req: Request, key: RateLimit['key']): string[] {
  if (key === 'user') {
    if (!req.auth) throw new Error('x-rate-limit key: user needs requireSession in front of it');
    return [`user:${req.auth.userId}`];
  }
  return [`anon:${req.anonymousUserId}`, `ip:${ipSubject(peerAddress(req) ?? '')}`];
}

/**
 * Limits an operation per subject (see subjectsOf). Every answer carries
 * `X-RateLimit-Limit`, `X-RateLimit-Remaining` (the tighter subject) and `X-RateLimit-Reset`
 * (seconds until that subject frees a slot); a refusal adds `Retry-After`, equal to the reset.
 *
 * When Redis cannot be reached the limiter fails closed (503 system:dependency_unavailable):
 * every limited operation is a credential or email endpoint whose limit is its brute-force and
 * abuse guard, and each of them needs this same Redis for its sessions and tokens, so failing
 * open would buy no availability while it would leave login's password check unthrottled.
 */
export function createRateLimiter(redis: RedisClient): RateLimiterFactory {
  const window = createSlidingWindow(redis);
  return (operationId, { limit, windowSeconds, key }) => {
    const windowMs = Math.round(windowSeconds * 1000);
    return async (req, res, next) => {
      const keys = subjectsOf(req, key).map((subject) => redisKeys.rateLimit(operationId, subject));
      const outcome = await window.hit(keys, limit, windowMs).catch((error: unknown) => {
        throw new AppError('system:dependency_unavailable', 'Rate limiting is unavailable', {
          cause: error,
        });
      });
      const { remaining, resetSeconds } = tightest(limit, outcome.subjects);
      res.set({
        'X-RateLimit-Limit': String(limit),
        'X-RateLimit-Remaining': String(remaining),
        'X-RateLimit-Reset': String(resetSeconds),
      });
      if (!outcome.admitted) {
        throw new AppError(
          'rate_limit:exceeded',
          `Too many requests: at most ${limit} per ${windowSeconds} s; retry in ${resetSeconds} s`,
          { headers: { 'Retry-After': String(resetSeconds) } },
        );
      }
      next();
    };
  };
}
