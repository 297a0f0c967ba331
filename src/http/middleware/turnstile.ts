import type { RequestHandler } from 'express';
import type { TurnstileClient } from '../../shared/clients/turnstile.ts';
import { AppError } from '../../shared/errors/app-error.ts';

export const TURNSTILE_HEADER = 'X-Turnstile-Token';

/**
 * Requires a Turnstile token that Cloudflare accepts. The router places it after the rate
 * limit, so a flood is cut before each of its requests costs a call to Cloudflare.
 */
export function turnstile(client: TurnstileClient): RequestHandler {
  return async (req, _res, next) => {
    const token = req.get(TURNSTILE_HEADER);
    if (!token) {
      throw new AppError('turnstile:token_missing', `The ${TURNSTILE_HEADER} header is required`);
    }
    const verdict = await client.verify(token, req.ip);
    if (verdict.outcome === 'rejected') {
      throw new AppError('turnstile:verification_failed', 'Bot verification failed');
    }
    if (verdict.outcome === 'unavailable') {
      throw new AppError('turnstile:service_error', 'Bot verification is unavailable', {
        cause: new Error(`Turnstile siteverify: ${verdict.reason}`),
      });
    }
    next();
  };
}
