import { createServer, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Gate {
  /** Resolves once a matching request has reached the proxy and is being held. */
  arrived: Promise<void>;
  /** Lets the held request through to the target. */
  release(): void;
}

export interface GatedProxy {
  url: string;
  /** Holds the next request that matches until the gate is released; others pass at once. */
  hold(matches: (req: IncomingMessage) => boolean): Gate;
  close(): Promise<void>;
}

/**
 * An HTTP proxy in front of a real server, which can stop one request mid-flight: the way to
 * put a slow dependency at an exact point of a race without touching the code under test.
 */
export async function startGatedProxy(target: string): Promise<GatedProxy> {
  const upstream = new URL(target);
  const gates: {
    matches: (req: IncomingMessage) => boolean;
    arrive: () => void;
    passed: Promise<void>;
  }[] = [];

  const server = createServer((req, res) => {
    const forward = () => {
      const proxied = request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      proxied.on('error', () => res.destroy());
      req.pipe(proxied);
    };
    const index = gates.findIndex((gate) => gate.matches(req));
    if (index === -1) return forward();
    const [gate] = gates.splice(index, 1);
    gate!.arrive();
    void gate!.passed.then(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    hold(matches) {
      let arrive!: () => void;
      let release!: () => void;
      const arrived = new Promise<void>((resolve) => (arrive = resolve));
      const passed = new Promise<void>((resolve) => (release = resolve));
      gates.push({ matches, arrive, passed });
      return { arrived, release };
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
