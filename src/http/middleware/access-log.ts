import type { Request, RequestHandler } from 'express';
import type { Logger } from '../../shared/logger.ts';
import { requestContext } from '../../shared/request-context.ts';

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
  return (req, res, next) => {
    // Checked per request so a level change applies at once, and skipped cheaply when off.
    if (!logger.isLevelEnabled('http')) {
      next();
      return;
    }
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      const latencyMs = Number(process.hrtime.bigint() - started) / 1e6;
      logger.http('request', {
        method: req.method,
        route: routeTemplate(req),
        status: res.statusCode,
        latency_ms: Math.round(latencyMs * 100) / 100,
        request_id: req.requestId,
        user_id: requestContext.getStore()?.userId,
      });
    });
    next();
  };
}
