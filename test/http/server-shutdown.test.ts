import { Socket } from 'node:net';
import { afterAll, expect, it } from 'vitest';
import { startServerProcess, type KitProcess } from '../reliability/support/processes.ts';

let server: KitProcess | undefined;
const sockets: Socket[] = [];

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await server?.stop('SIGKILL');
});

/** A connection opened ahead of use, as browsers and load balancers open them: no request yet. */
async function unusedConnection(url: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  const socket = new Socket();
  sockets.push(socket);
  await new Promise<void>((resolve, reject) =>
    socket.once('connect', resolve).once('error', reject).connect(Number(port), hostname),
  );
  return socket;
}

it('When SIGTERM reaches a server holding connections no request was sent on, then it closes them and exits 0 at once, not after its 30 s forced exit', async () => {
  server = await startServerProcess({ name: 'shutdown-unused-connections' });
  const unused = await Promise.all([unusedConnection(server.url), unusedConnection(server.url)]);
  const closedByServer = unused.map(
    (socket) => new Promise((resolve) => socket.once('close', resolve)),
  );

  const started = performance.now();
  const exit = await server.stop('SIGTERM');
  const seconds = (performance.now() - started) / 1000;
  await Promise.all(closedByServer);

  expect(exit).toEqual({ code: 0, signal: null });
  // The forced exit comes at 30 s; a third of it leaves a loaded machine room.
  expect(seconds).toBeLessThan(10);
});
