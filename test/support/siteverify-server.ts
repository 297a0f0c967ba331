import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * How the fake siteverify answers the next calls: a verdict, a 500, never (`hang`), an HTML
 * page, or by dropping the connection as an unreachable host would (`reset`).
 */
export type SiteverifyBehaviour = 'success' | 'failure' | 'error' | 'hang' | 'malformed' | 'reset';

export interface SiteverifyServer {
  url: string;
  behaviour: SiteverifyBehaviour;
  /** The form of every call received, in order. */
  calls: Record<string, string>[];
  close(): Promise<void>;
}

async function readForm(req: IncomingMessage): Promise<Record<string, string>> {
  let text = '';
  for await (const chunk of req) text += String(chunk);
  return Object.fromEntries(new URLSearchParams(text));
}

/**
 * A local HTTP server that answers like Cloudflare's Turnstile siteverify endpoint (a form
 * POST of secret, response and remoteip; a JSON verdict), with a switchable behaviour.
 */
export async function startSiteverifyServer(): Promise<SiteverifyServer> {
  const state: SiteverifyServer = {
    url: '',
    behaviour: 'success',
    calls: [],
    close: async () => undefined,
  };
  const server = createServer((req, res) => {
    void readForm(req).then((form) => {
      state.calls.push(form);
      const json = (status: number, body: unknown) =>
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      switch (state.behaviour) {
        case 'success':
          return json(200, {
            success: true,
            challenge_ts: new Date().toISOString(),
            hostname: 'localhost',
            'error-codes': [],
          });
        case 'failure':
          return json(200, { success: false, 'error-codes': ['invalid-input-response'] });
        case 'error':
          return json(500, { error: 'internal' });
        case 'malformed':
          return res
            .writeHead(200, { 'content-type': 'text/html' })
            .end('<html>maintenance</html>');
        case 'reset':
          return req.socket.destroy();
        case 'hang':
          return undefined;
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/turnstile/v0/siteverify`;
  state.close = async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  };
  return state;
}
