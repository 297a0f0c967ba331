import {
  CookieJar,
  createExpressKitClient,
  type ExpressKitClient,
} from '../../../client/src/index.ts';
import { clientAddress } from './client-address.ts';
import type { KitProcess } from './processes.ts';

export interface Browser {
  /** Its client for each server, all sharing the one cookie jar: a load balancer's view. */
  on: ExpressKitClient[];
  /** The session cookie as it would be sent now (read before a logout clears it). */
  cookie(): string;
}

/**
 * One browser behind a load balancer in front of `servers`: one cookie jar (cookies ignore
 * ports, so a cookie set by one server goes to every other), and a client address of its own
 * in X-Forwarded-For. The servers must run with TRUST_PROXY=loopback; the per-IP rate limits
 * of production then apply to each browser, as they would to real clients.
 */
export function browser(servers: readonly KitProcess[]): Browser {
  const jar = new CookieJar();
  const address = clientAddress();
  const on = servers.map((server) =>
    createExpressKitClient({
      baseUrl: server.url,
      cookieJar: jar,
      headers: { 'x-forwarded-for': address },
    }),
  );
  return { on, cookie: () => jar.getCookieStringSync(servers[0]!.url) };
}
