import { Agent, request, type IncomingMessage } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.ts';
import { eventually } from '../support/wait.ts';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app.close();
});

it('When the server ends its streams, then it closes their connections, so a shutdown has no keep-alive socket left to wait for', async () => {
  // A keep-alive client, as browsers and fetch are: it would keep an ended response's socket.
  const agent = new Agent({ keepAlive: true });
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    request(`${app.baseUrl}/v0/eventstream/actions`, {
      agent,
      headers: { accept: 'text/event-stream' },
    })
      .on('response', resolve)
      .on('error', reject)
      .end();
  });
  let ended = false;
  let socketClosed = false;
  res.socket.once('close', () => (socketClosed = true));
  res.on('end', () => (ended = true)).resume();

  app.built.closeEventStreams();

  // Well inside the test server's 5 s keep-alive timeout, which would close the socket anyway.
  await eventually(() => ended && socketClosed, 2000).catch(() => undefined);
  expect(res.headers.connection).toBe('close');
  expect({ ended, socketClosed }).toEqual({ ended: true, socketClosed: true });
  agent.destroy();
});
