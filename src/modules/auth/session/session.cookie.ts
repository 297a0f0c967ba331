import type { CookieOptions, Request, Response } from 'express';
import type { ServerConfig } from '../../../config/server.ts';

export interface SessionCookie {
  name: string;
  /** Attributes for clearing the cookie; they must match the ones it was set with. */
  options: CookieOptions;
}

/**
 * `session_id` in development and test; in production the `__Host-` prefix (the browser then
 * insists on Secure, Path=/ and no Domain), or `__Secure-` when a cookie domain is shared.
 */
export function sessionCookie(config: ServerConfig): SessionCookie {
  const domain = config.session.cookieDomain;
  const production = config.env === 'production';
  const prefix = !production ? '' : domain ? '__Secure-' : '__Host-';
  return {
    name: `${prefix}session_id`,
    options: {
      httpOnly: true,
      secure: config.env !== 'development',
      sameSite: 'lax',
      path: '/',
      ...(domain ? { domain } : {}),
    },
  };
}

/**
 * express-session writes no Max-Age (only Expires) and refuses to send a Secure cookie on a
 * connection it does not see as TLS, which is every connection behind a TLS-terminating
 * proxy without TRUST_PROXY, and every test. Its cookie is therefore configured without
 * Secure, and this hook, installed on the response before express-session runs so that it
 * runs right after express-session wrote the header, adds Secure and the Max-Age of a
 * remember-me cookie.
 */
export function completeSessionCookie(
  cookie: SessionCookie,
): (req: Request, res: Response) => void {
  const prefix = `${cookie.name}=`;
  return (req, res) => {
    const complete = () => {
      const header = res.getHeader('Set-Cookie');
      if (!Array.isArray(header) || !header.some((entry) => entry.startsWith(prefix))) return;
      const expires = req.session?.cookie.expires;
      res.setHeader(
        'Set-Cookie',
        header.map((entry) => {
          if (!entry.startsWith(prefix)) return entry;
          let completed = entry;
          if (expires) {
            const maxAge = Math.max(0, Math.floor((expires.getTime() - Date.now()) / 1000));
            completed += `; Max-Age=${maxAge}`;
          }
          if (cookie.options.secure && !/;\s*Secure\b/i.test(completed)) completed += '; Secure';
          return completed;
        }),
      );
    };
    const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => Response;
    res.writeHead = ((...args: unknown[]) => {
      complete();
      return writeHead(...args);
    }) as typeof res.writeHead;
  };
}
