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
 * CORS for the allowed origins, with credentials. Any other request (without an Origin header,
 * as a server's or a browser's same-origin read is; or from an origin not allowed, which gets
 * no grant) has only `Vary: Origin` added, which keeps a shared cache from handing its answer
 * to a cross-origin caller, rather than the grant's other headers on every answer; its OPTIONS
 * is no preflight this server answers, and goes on to the API. With no origin allowed, no
 * answer varies by origin.
 */
export function crossOrigin(allowedOrigins: string[]): RequestHandler {
  if (allowedOrigins.length === 0) return (_req, _res, next) => next();
  const allowed = new Set(allowedOrigins);
  // The origin is checked here, once: cors reflects it.
  const grant = cors({
    origin: true,
    credentials: true,
    exposedHeaders: EXPOSED_HEADERS,
  });
  return (req, res, next) => {
    const origin = req.headers.origin;
    if (origin !== undefined && allowed.has(origin)) return grant(req, res, next);
    res.vary('Origin');
    next();
  };
}
