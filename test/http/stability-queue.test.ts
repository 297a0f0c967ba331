import express from 'express';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { requestId } from '../../src/http/middleware/request-id.ts';
import { stability } from '../../src/http/middleware/stability.ts';
import { errorHandler } from '../../src/http/middleware/errors.ts';
import { createLogger } from '../../src/shared/logger.ts';
import { requestContext } from '../../src/shared/request-context.ts';
import { eventually } from '../support/wait.ts';

let close: (() => Promise<void>) | undefined;

afterEach(async () => {
  await close?.();
  close = undefined;
});

/**
 * One place and one queue place: `/hold` takes the place until `release()`, `/who` answers the
 * request id of its own request and the one of the async context it runs in, `/count` counts
 * the times it ran.
 */
async function serve(timeoutMs: number) {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let counted = 0;
  const layer = stability({ concurrencyLimit: 1, bufferSize: 1, timeoutMs, bypass: () => false });
  const app = express();
  app.use(requestId(), layer);
  // Its head goes out at once, so its own timeout leaves it alone and it keeps the place.
  app.get('/hold', async (_req, res) => {
    res.flushHeaders();
    await gate;
    res.end();
  });
  app.get('/who', (req, res) => {
    res.json({ own: req.requestId, context: requestContext.getStore()?.requestId });
  });
  app.get('/count', (_req, res) => {
    counted += 1;
    res.json({});
  });
  const logger = createLogger({ env: 'test', level: 'error', service: 'test' });
  app.use(errorHandler({ logger, exposeInternalDetails: false }));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, release, state: layer.state, counted: () => counted };
}

describe('stability queue', () => {
  it('When a queued request gets the place, then it runs in its own request context', async () => {
    const { url, release, state } = await serve(30_000);
    const held = fetch(`${url}/hold`, { headers: { 'x-request-id': 'holder' } });
    await eventually(() => state.inFlight === 1);
    const queued = fetch(`${url}/who`, { headers: { 'x-request-id': 'queued' } });
    await eventually(() => state.queued === 1);

    release();
    await held;
    expect(await (await queued).json()).toEqual({ own: 'queued', context: 'queued' });
  });

  it('When a queued request times out, then it gives up its place and never runs, even once the place is free', async () => {
    const { url, release, state, counted } = await serve(300);
    const held = fetch(`${url}/hold`);
    await eventually(() => state.inFlight === 1);
    const response = await fetch(`${url}/count`);
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ code: 'system:timeout' });
    expect(state.queued).toBe(0);

    release();
    await held;
    await eventually(() => state.inFlight === 0);
    expect(counted()).toBe(0);
  });
});
