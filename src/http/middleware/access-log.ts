import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from '../../shared/logger.ts';
import { requestContext } from '../../shared/request-context.ts';
import { elapsedMs, markStarted } from '../response-timing.ts';

/** The contract's path template when the validator matched one, so logs group by route. */
export function routeTemplate(req: Request): string {
  const { openapi, route } = req as unknown as {
    openapi?: { openApiRoute?: string };
    route?: { path: string };
  };
  return openapi?.openApiRoute ?? route?.path ?? 'unmatched';
}

/** One line per request; never bodies, cookies or tokens. */
export function accessLog(logger: Logger): RequestHandler {
  // One listener function shared by every response.
  function write(this: Response) {
    const req = this.req;
    logger.http('request', {
      method: req.method,
      route: routeTemplate(req),
      status: this.statusCode,
      latency_ms: Math.round(elapsedMs(this) * 100) / 100,
      request_id: req.requestId,
      user_id: requestContext.getStore()?.userId,
    });
  }
  return (_req, res, next) => {
    // Read per request so a level change applies at once. The logger's one transport has no
    // level of its own, so the logger's level decides (isLevelEnabled would also ask every
    // transport, building a list of them on each call).
    if (logger.levels[logger.level]! < logger.levels.http!) {
      next();
      return;
    }
    markStarted(res);
    res.on('finish', write);
    next();
  };
}
