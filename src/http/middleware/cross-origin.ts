import cors from 'cors';
import type { RequestHandler } from 'express';

/** What a browser script may read of an answer besides the CORS-safelisted headers. */
const EXPOSED_HEADERS = [
  'X-Request-ID',
  'Retry-After',
  'X-RateLimit-Limit',
  'X-RateLimit-Remaining',
  'X-RateLimit-Reset',
];

/**
 * CORS for the allowed origins, with credentials. A request without an Origin header is no
 * cross-origin request (a server's, or a browser's same-origin read): it gets only
 * `Vary: Origin`, which keeps a shared cache from handing its answer to a cross-origin caller,
 * rather than the grant's other headers on every answer. With no origin allowed, no answer
 * varies by origin.
 */
export function crossOrigin(allowedOrigins: string[]): RequestHandler {
  if (allowedOrigins.length === 0) return (_req, _res, next) => next();
  const grant = cors({
    origin: allowedOrigins,
    credentials: true,
    exposedHeaders: EXPOSED_HEADERS,
  });
  return (req, res, next) => {
    if (req.headers.origin !== undefined) return grant(req, res, next);
    res.vary('Origin');
    next();
  };
}
