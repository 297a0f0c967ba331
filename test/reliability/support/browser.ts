import {
  CookieJar,
  createExpressKitClient,
  type ExpressKitClient,
} from '../../../client/src/index.ts';
import type { KitProcess } from './processes.ts';

export interface Browser {
  /** Its client for each server, all sharing the one cookie jar: a load balancer's view. */
  on: ExpressKitClient[];
  /** The session cookie as it would be sent now (read before a logout clears it). */
  cookie(): string;
}

let browsers = 0;

/**
 * One browser behind a load balancer in front of `servers`: one cookie jar (cookies ignore
 * ports, so a cookie set by one server goes to every other), and a client address of its own
 * in X-Forwarded-For. The servers must run with TRUST_PROXY=loopback; the per-IP rate limits
 * of production then apply to each browser, as they would to real clients.
 */
export function browser(servers: readonly KitProcess[]): Browser {
  browsers += 1;
  const jar = new CookieJar();
  const address = `198.51.${100 + Math.floor(browsers / 250)}.${1 + (browsers % 250)}`;
  const on = servers.map((server) =>
    createExpressKitClient({
      baseUrl: server.url,
      cookieJar: jar,
      headers: { 'x-forwarded-for': address },
    }),
  );
  return { on, cookie: () => jar.getCookieStringSync(servers[0]!.url) };
}
