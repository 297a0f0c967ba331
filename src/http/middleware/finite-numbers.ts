import type { RequestHandler } from 'express';
import { AppError } from '../../shared/errors/app-error.ts';

/**
 * The contract validator coerces `Infinity`, `-Infinity` or `1e999` in a numeric query
 * parameter to a non-finite number, and ajv's coercion to a number skips its isFinite check
 * (ajv-validator/ajv#2212), after which every bound (`minimum`, `maximum`) passes for such a
 * number: `?page=Infinity` would pass `maximum: 1000` and reach the handler. Mounted right
 * after the validator, this refuses them as the validator refuses any other number out of
 * bounds. test/http/query-parameter-refusals.test.ts fails once ajv refuses them itself, and this
 * can go.
 */
export function refuseNonFiniteParameters(): RequestHandler {
  return (req, _res, next) => {
    if (!req.url.includes('?')) return next();
    const failing = Object.entries(req.query as Record<string, unknown>)
      .filter(([, value]) => typeof value === 'number' && !Number.isFinite(value))
      .map(([name]) => `query.${name} must be a finite number`);
    if (failing.length > 0) throw new AppError('general:validation_error', failing.join('; '));
    next();
  };
}
