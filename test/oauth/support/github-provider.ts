import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { callbackParams } from './google-provider.ts';

export interface GithubEmail {
  email: string;
  primary: boolean;
  verified: boolean;
  visibility?: 'public' | 'private' | null;
}

/** The GitHub account that signs in at the provider, and how the provider treats it. */
export interface GithubIdentity {
  id: number;
  login: string;
  name: string | null;
  avatar_url?: string;
  emails: GithubEmail[];
  /** `/user/emails` answers this status instead of the list. */
  emailsStatus?: number;
  /** `/user` answers 200 with an HTML page, as a captive portal or a misrouted proxy would. */
  userAsHtml?: boolean;
}

export interface GithubProvider {
  url: string;
  env: Record<string, string>;
  /** The Accept header of each token request, newest last. */
  tokenAccepts: (string | undefined)[];
  /** The token endpoint holds every request open (until close): a provider that hangs. */
  hangTokenRequests: boolean;
  authorize(authUrl: string, identity: GithubIdentity): Promise<{ code: string; state: string }>;
  close(): Promise<void>;
}

interface IssuedCode {
  identity: GithubIdentity;
  challenge: string;
  redirectUri: string;
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  let text = '';
  for await (const chunk of req) text += String(chunk);
  return new URLSearchParams(text);
}

function send(res: ServerResponse, status: number, type: string, body: string) {
  res.writeHead(status, { 'content-type': type });
  res.end(body);
}

const json = (res: ServerResponse, status: number, body: unknown) =>
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(body));

/**
 * A small real OAuth server in GitHub's shape, quirks included: the token endpoint answers
 * form-encoded unless asked for JSON, and refuses a code with HTTP 200 and an `error` field;
 * the API refuses requests without a User-Agent; the address comes from `/user/emails`.
 */
export async function startGithubProvider(): Promise<GithubProvider> {
  const clientId = 'github-client-id';
  const clientSecret = 'github-client-secret';
  const codes = new Map<string, IssuedCode>();
  const tokens = new Map<string, GithubIdentity>();
  const tokenAccepts: (string | undefined)[] = [];
  let signingIn: GithubIdentity | undefined;

  const server = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => send(res, 500, 'text/plain', String(error)));
  });

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://github.test');
    if (req.method === 'GET' && url.pathname === '/login/oauth/authorize') {
      const redirectUri = url.searchParams.get('redirect_uri') ?? '';
      const redirect = new URL(redirectUri);
      if (url.searchParams.get('client_id') !== clientId || !signingIn) {
        redirect.searchParams.set('error', 'access_denied');
      } else {
        const code = randomBytes(10).toString('hex');
        codes.set(code, {
          identity: signingIn,
          challenge: url.searchParams.get('code_challenge') ?? '',
          redirectUri,
        });
        redirect.searchParams.set('code', code);
      }
      redirect.searchParams.set('state', url.searchParams.get('state') ?? '');
      res.writeHead(302, { location: redirect.href });
      return res.end();
    }

    if (req.method === 'POST' && url.pathname === '/login/oauth/access_token') {
      tokenAccepts.push(req.headers.accept);
      if (provider.hangTokenRequests) return;
      const form = await readForm(req);
      const wantsJson = req.headers.accept?.includes('application/json') === true;
      const answer = (fields: Record<string, string>) =>
        wantsJson
          ? json(res, 200, fields)
          : send(
              res,
              200,
              'application/x-www-form-urlencoded',
              new URLSearchParams(fields).toString(),
            );
      if (form.get('client_id') !== clientId || form.get('client_secret') !== clientSecret) {
        return answer({ error: 'incorrect_client_credentials' });
      }
      const issued = codes.get(form.get('code') ?? '');
      codes.delete(form.get('code') ?? '');
      const verifier = form.get('code_verifier') ?? '';
      const challenge = createHash('sha256').update(verifier).digest('base64url');
      if (
        !issued ||
        issued.redirectUri !== form.get('redirect_uri') ||
        challenge !== issued.challenge
      ) {
        return answer({
          error: 'bad_verification_code',
          error_description: 'The code passed is incorrect or expired.',
        });
      }
      const token = `gho_${randomBytes(16).toString('hex')}`;
      tokens.set(token, issued.identity);
      return answer({ access_token: token, scope: 'read:user,user:email', token_type: 'bearer' });
    }

    if (req.method === 'GET' && (url.pathname === '/user' || url.pathname === '/user/emails')) {
      if (!req.headers['user-agent']) {
        return json(res, 403, { message: 'Request forbidden by administrative rules.' });
      }
      const identity = tokens.get(req.headers.authorization?.replace(/^Bearer /, '') ?? '');
      if (!identity) return json(res, 401, { message: 'Bad credentials' });
      if (url.pathname === '/user' && identity.userAsHtml) {
        return send(res, 200, 'text/html', '<html><body>Sign in to the network</body></html>');
      }
      if (url.pathname === '/user') {
        return json(res, 200, {
          id: identity.id,
          login: identity.login,
          name: identity.name,
          avatar_url: identity.avatar_url ?? null,
          email: null,
        });
      }
      if (identity.emailsStatus !== undefined) {
        return json(res, identity.emailsStatus, { message: 'Server Error' });
      }
      return json(res, 200, identity.emails);
    }
    json(res, 404, { message: 'Not Found' });
  }

  server.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const provider: GithubProvider = {
    url,
    env: {
      GITHUB_CLIENT_ID: clientId,
      GITHUB_CLIENT_SECRET: clientSecret,
      GITHUB_REDIRECT_URI: 'http://localhost:3000/oauth/github/callback',
      GITHUB_AUTH_URL: `${url}/login/oauth/authorize`,
      GITHUB_TOKEN_URL: `${url}/login/oauth/access_token`,
      GITHUB_API_URL: url,
    },
    tokenAccepts,
    hangTokenRequests: false,
    async authorize(authUrl, identity) {
      signingIn = identity;
      const response = await fetch(authUrl, { redirect: 'manual' });
      signingIn = undefined;
      return callbackParams(response);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return provider;
}
