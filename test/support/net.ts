import { Socket, createServer } from 'node:net';

/** A port nothing listens on right now, for a server of the test's own. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket
      .once('connect', () => {
        socket.destroy();
        resolve(true);
      })
      .once('error', () => resolve(false))
      .connect(port, '127.0.0.1');
  });
}

/** Waits until something accepts connections on the port, failing early when `exited()` says the server died. */
export async function waitForPort(
  port: number,
  what: string,
  exited: () => boolean = () => false,
): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await canConnect(port))) {
    if (exited()) throw new Error(`${what} exited before accepting connections`);
    if (Date.now() > deadline) throw new Error(`${what} did not start`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
