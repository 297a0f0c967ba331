import { AsyncLocalStorage } from 'node:async_hooks';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { AppError } from '../../shared/errors/app-error.ts';

const ADMISSION = Symbol('stability admission');

export interface StabilityOptions {
  concurrencyLimit: number;
  bufferSize: number;
  timeoutMs: number;
  /** Requests that bypass the layer entirely (health probes, long-lived streams). */
  bypass: (req: Request) => boolean;
}

type AdmittedResponse = Response & { [ADMISSION]?: { finish(): void } };

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
  const queue: Admission[] = [];

  const release = () => {
    const next = queue.shift();
    if (!next) inFlight -= 1;
    // Run in the waiting request's own context, not in the one of the request that released.
    else if (next.inContext) next.inContext(() => next.admit());
    else next.admit();
  };

  /** One request's place: admitted, or waiting in the queue for one. */
  class Admission {
    done = false;
    admitted = false;
    readonly res: Response;
    readonly next: NextFunction;
    readonly timer: NodeJS.Timeout;
    /** Set while it waits in the queue: runs a function in the request's async context. */
    inContext?: <R>(fn: () => R) => R;

    constructor(res: Response, next: NextFunction) {
      this.res = res;
      this.next = next;
      this.timer = setTimeout(timedOut, options.timeoutMs, this);
      this.timer.unref();
    }

    admit() {
      this.admitted = true;
      if (this.done) {
        release();
        return;
      }
      this.next();
    }

    finish() {
      if (this.done) return;
      this.done = true;
      clearTimeout(this.timer);
      if (this.admitted) release();
      else {
        const index = queue.indexOf(this);
        if (index >= 0) queue.splice(index, 1);
      }
    }
  }

  function timedOut(admission: Admission) {
    if (admission.res.headersSent) return;
    // Still waiting: it gives up its place now, so that it can never run once answered.
    if (!admission.admitted) admission.finish();
    admission.next(new AppError('system:timeout', `No response within ${options.timeoutMs} ms`));
  }
  // Shared by every response ('close' follows 'finish', and comes alone when the client left).
  function closed(this: Response) {
    (this as AdmittedResponse)[ADMISSION]!.finish();
  }

  const middleware: RequestHandler = (req, res, next) => {
    if (options.bypass(req)) {
      next();
      return;
    }
    const admission = new Admission(res, next);
    (res as AdmittedResponse)[ADMISSION] = admission;
    res.on('close', closed);

    if (inFlight < options.concurrencyLimit) {
      inFlight += 1;
      admission.admit();
    } else if (queue.length < options.bufferSize) {
      admission.inContext = AsyncLocalStorage.snapshot();
      queue.push(admission);
    } else {
      admission.done = true;
      clearTimeout(admission.timer);
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
