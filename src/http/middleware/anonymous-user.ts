import type { RequestHandler } from 'express';
import { validate as isUuid, v7 as uuidv7 } from 'uuid';

export const ANONYMOUS_COOKIE = 'anonymous_user_id';
const ONE_YEAR_MS = 365 * 24 * 3600 * 1000;

/**
 * Gives every client a stable anonymous id (rate limits, OAuth state binding). The cookie is
 * client-controlled, so nothing may trust it alone; a malformed one is replaced.
 */
export function anonymousUser(options: { secure: boolean }): RequestHandler {
  return (req, res, next) => {
    const current = (req.cookies as Record<string, unknown> | undefined)?.[ANONYMOUS_COOKIE];
    if (typeof current === 'string' && isUuid(current)) {
      req.anonymousUserId = current;
    } else {
      req.anonymousUserId = uuidv7();
      res.cookie(ANONYMOUS_COOKIE, req.anonymousUserId, {
        httpOnly: true,
        secure: options.secure,
        sameSite: 'lax',
        path: '/',
        maxAge: ONE_YEAR_MS,
      });
    }
    next();
  };
}
