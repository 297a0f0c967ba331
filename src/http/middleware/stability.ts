import type { Request, RequestHandler } from 'express';
import { AppError } from '../../shared/errors/app-error.ts';

export interface StabilityOptions {
  concurrencyLimit: number;
  bufferSize: number;
  timeoutMs: number;
  /** Requests that bypass the layer entirely (health probes, long-lived streams). */
  bypass: (req: Request) => boolean;
}

export interface StabilityState {
  readonly inFlight: number;
  readonly queued: number;
}

/**
 * A global concurrency limit with a bounded wait queue and a per-request timeout. A full
 * queue answers 503 at once (shedding load is kinder than letting latency grow without
 * bound); a request that has not answered in time gets 503 system:timeout.
 */
export function stability(options: StabilityOptions): RequestHandler & { state: StabilityState } {
  let inFlight = 0;
  const queue: Array<() => void> = [];

  const release = () => {
    const next = queue.shift();
    if (next) next();
    else inFlight -= 1;
  };

  const middleware: RequestHandler = (req, res, next) => {
    if (options.bypass(req)) {
      next();
      return;
    }

    let done = false;
    const timer = setTimeout(() => {
      if (!res.headersSent) {
        next(new AppError('system:timeout', `No response within ${options.timeoutMs} ms`));
      }
    }, options.timeoutMs);
    timer.unref();

    let admitted = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (admitted) release();
      else removeFromQueue();
    };
    res.once('finish', finish);
    res.once('close', finish);

    const admit = () => {
      admitted = true;
      if (done) {
        release();
        return;
      }
      next();
    };
    const removeFromQueue = () => {
      const index = queue.indexOf(admit);
      if (index >= 0) queue.splice(index, 1);
    };

    if (inFlight < options.concurrencyLimit) {
      inFlight += 1;
      admit();
    } else if (queue.length < options.bufferSize) {
      queue.push(admit);
    } else {
      done = true;
      clearTimeout(timer);
      next(
        new AppError('system:overloaded', 'The server is at capacity; retry shortly', {
          headers: { 'Retry-After': '1' },
        }),
      );
    }
  };

  return Object.assign(middleware, {
    state: {
      get inFlight() {
        return inFlight;
      },
      get queued() {
        return queue.length;
      },
    },
  });
}
