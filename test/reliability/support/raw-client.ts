import { connect, type Socket } from 'node:net';

/** A TCP client that speaks HTTP by hand, to send what a well-behaved client never would. */
export interface RawClient {
  socket: Socket;
  /** When the connection was made (performance.now()). */
  openedAt: number;
  /** Everything received so far, as latin1 text. */
  received(): string;
  /** Settles with performance.now() when the socket closes, whoever closed it. */
  closed: Promise<number>;
  /** Whether the server closed it (its FIN or reset), as opposed to destroy() here. */
  closedByServer(): boolean;
  destroy(): void;
}

export function connectRaw(url: string): Promise<RawClient> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    let byServer = false;
    let closing = false;
    const closed = new Promise<number>((settle) =>
      socket.once('close', () => settle(performance.now())),
    );
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('end', () => {
      if (!closing) byServer = true;
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNRESET' && !closing) byServer = true;
    });
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve({
        socket,
        openedAt: performance.now(),
        received: () => Buffer.concat(chunks).toString('latin1'),
        closed,
        closedByServer: () => byServer,
        destroy: () => {
          closing = true;
          socket.destroy();
        },
      });
    });
    socket.once('error', reject);
  });
}

/** The status code of the first response received, or undefined before one arrives. */
export function statusOf(client: RawClient): number | undefined {
  const match = /^HTTP\/1\.1 (\d{3}) /.exec(client.received());
  return match ? Number(match[1]) : undefined;
}

/** The JSON body of the first response received (the connection must have closed). */
export function errorCodeOf(client: RawClient): string | undefined {
  const body = client.received().split('\r\n\r\n')[1];
  if (!body) return undefined;
  return (JSON.parse(body) as { code?: string }).code;
}
