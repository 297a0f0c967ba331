import express from 'express';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { forApi, series } from '../../src/http/series.ts';

let close: (() => Promise<void>) | undefined;

afterEach(async () => {
  await close?.();
  close = undefined;
});

/** Serves `handler` at the app level, with an error handler that names the error it got. */
async function serve(handler: RequestHandler): Promise<string> {
  const app = express();
  app.use(handler);
  app.use((_req, res) => {
    res.status(404).json({ reached: 'not found' });
  });
  const named: ErrorRequestHandler = (error: Error, _req, res, _next) => {
    res.status(500).json({ error: error.message });
  };
  app.use(named);
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  close = () => new Promise((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const mark =
  (name: string): RequestHandler =>
  (req, _res, next) => {
    (req as { seen?: string[] }).seen = [...((req as { seen?: string[] }).seen ?? []), name];
    next();
  };
const answer: RequestHandler = (req, res) => {
  res.json({ seen: (req as { seen?: string[] }).seen ?? [] });
};

describe('series', () => {
  it('When every handler calls next, then they run in order and the last one answers', async () => {
    const url = await serve(series(mark('a'), mark('b'), answer));
    expect(await (await fetch(url)).json()).toEqual({ seen: ['a', 'b'] });
  });

  it('When the series ends without an answer, then the request goes on to the next layer', async () => {
    const url = await serve(series(mark('a')));
    const response = await fetch(url);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ reached: 'not found' });
  });

  it('When a handler throws, then the rest is skipped and the error handler gets the error', async () => {
    const url = await serve(
      series(() => {
        throw new Error('thrown');
      }, answer),
    );
    const response = await fetch(url);
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: 'thrown' });
  });

  it('When an async handler rejects, then the error handler gets the rejection', async () => {
    const url = await serve(
      series(async () => {
        await Promise.resolve();
        throw new Error('rejected');
      }, answer),
    );
    expect(await (await fetch(url)).json()).toEqual({ error: 'rejected' });
  });

  it('When a handler passes an error to next, then the error handler gets it', async () => {
    const url = await serve(series((_req, _res, next) => next(new Error('passed')), answer));
    expect(await (await fetch(url)).json()).toEqual({ error: 'passed' });
  });

  it("When a handler calls next('route') or next with a falsy value, then the next handler runs, as after an Express layer", async () => {
    const url = await serve(
      series(
        (_req, _res, next) => next('route'),
        mark('a'),
        (_req, _res, next) => next(false as never),
        mark('b'),
        answer,
      ),
    );
    expect(await (await fetch(url)).json()).toEqual({ seen: ['a', 'b'] });
  });

  it("When a handler calls next('router'), then the rest of the series is skipped and the layer after it runs", async () => {
    const url = await serve(series((_req, _res, next) => next('router'), answer));
    const response = await fetch(url);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ reached: 'not found' });
  });

  it('When an async handler rejects with no reason, then the error handler still gets an error', async () => {
    const url = await serve(
      // A library rejecting without a reason, which Express's own router also guards against.
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the case tested
      series(() => Promise.reject(undefined), answer),
    );
    expect(await (await fetch(url)).json()).toEqual({ error: 'Rejected promise' });
  });

  it('When an error handler is given, then building the series fails', () => {
    const errorHandler: ErrorRequestHandler = (_error, _req, _res, next) => next();
    expect(() => series(errorHandler as unknown as RequestHandler)).toThrow(
      'series() takes request handlers only',
    );
  });
});

describe('forApi', () => {
  it.each([
    ['/v0', true],
    ['/v0/user/me', true],
    ['/V0/user/me', true],
    ['/v01/x', false],
    ['/docs', false],
  ])('When the path is %s, then the handler runs: %s', async (path, runs) => {
    const url = await serve(series(forApi(mark('api')), answer));
    expect(await (await fetch(url + path)).json()).toEqual({ seen: runs ? ['api'] : [] });
  });
});
