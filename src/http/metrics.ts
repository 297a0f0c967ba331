import type { RequestHandler, Response } from 'express';
import { Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { routeTemplate } from './middleware/access-log.ts';
import { elapsedMs, markStarted } from './response-timing.ts';

export interface HttpMetrics {
  registry: Registry;
  middleware: RequestHandler;
}

/** One registry per app instance, so in-process test apps never share counters. */
export function createHttpMetrics(): HttpMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency by route template, method and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  // One listener function shared by every response.
  function observe(this: Response) {
    duration.observe(
      { method: this.req.method, route: routeTemplate(this.req), status: String(this.statusCode) },
      elapsedMs(this) / 1000,
    );
  }
  const middleware: RequestHandler = (_req, res, next) => {
    markStarted(res);
    res.on('finish', observe);
    next();
  };
  return { registry, middleware };
}
