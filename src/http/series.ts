import type { NextFunction, RequestHandler } from 'express';

export type Series = RequestHandler & {
  /** The handlers it runs, in order. */
  readonly handlers: readonly RequestHandler[];
};

/**
 * Runs middleware one after another as a single Express layer. Every layer Express's router
 * runs costs each request a path match, a parameters object and closures; the kit's
 * request-wide middleware needs none of that (no path, no parameters), so it runs as one
 * layer, with the semantics the layers had: a handler's thrown error or rejected promise goes
 * to the error handlers, `next('route')` (and any falsy value) goes on to the next handler, and
 * `next('router')` leaves the series for the layer after it.
 */
export function series(...handlers: RequestHandler[]): Series {
  // Express tells an error handler by its four parameters; a series runs request handlers only.
  if (handlers.some((handler) => handler.length === 4)) {
    throw new Error('series() takes request handlers only; mount error handlers on a router');
  }
  const run: RequestHandler = (req, res, done) => {
    let index = 0;
    const fail = (error: unknown) => done(error || new Error('Rejected promise'));
    const next: NextFunction = (error?: unknown) => {
      if (error === 'router') return done();
      if (error && error !== 'route') return done(error);
      const handler = handlers[index++];
      if (!handler) return done();
      try {
        const result: unknown = handler(req, res, next);
        if (result instanceof Promise) result.then(undefined, fail);
      } catch (thrown) {
        fail(thrown);
      }
    };
    next();
  };
  return Object.assign(run, { handlers });
}

const V0 = /^\/v0(\/|$)/i;

/**
 * Runs `handler` only for API requests (`/v0` and below, matched the way Express mounts a
 * path: case-insensitively), as a member of a series.
 */
export function forApi(handler: RequestHandler): RequestHandler {
  return (req, res, next) => (V0.test(req.path) ? handler(req, res, next) : next());
}
