import type { RequestHandler, Response } from 'express';
import { Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { routeTemplate } from './middleware/access-log.ts';

const STARTED = Symbol('request started');
type TimedResponse = Response & { [STARTED]?: number };

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
  // One shared listener and the start time on the response: no closure made per request.
  function observe(this: TimedResponse) {
    const seconds = (performance.now() - this[STARTED]!) / 1000;
    duration.observe(
      { method: this.req.method, route: routeTemplate(this.req), status: String(this.statusCode) },
      seconds,
    );
  }
  const middleware: RequestHandler = (_req, res, next) => {
    (res as TimedResponse)[STARTED] = performance.now();
    res.on('finish', observe);
    next();
  };
  return { registry, middleware };
}
