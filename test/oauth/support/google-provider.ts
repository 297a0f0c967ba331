import type { IncomingMessage } from 'node:http';
import { OAuth2Server } from 'oauth2-mock-server';

/** The Google account that signs in at the provider, and how the provider treats it. */
export interface GoogleIdentity {
  sub: string;
  email: string;
  email_verified: boolean | string;
  name?: string;
  picture?: string;
  /** The token endpoint refuses this account's code with `invalid_grant`. */
  refuseCode?: boolean;
  /** The token endpoint answers 200 without an access token. */
  omitAccessToken?: boolean;
  /** The userinfo endpoint answers this status instead of the profile. */
  userinfoStatus?: number;
}

export interface GoogleProvider {
  url: string;
  clientId: string;
  clientSecret: string;
  env: Record<string, string>;
  /** What the token endpoint received, newest last. */
  tokenRequests: Record<string, string>[];
  /** Signs `identity` in at the provider, as the browser following `authUrl` would. */
  authorize(authUrl: string, identity: GoogleIdentity): Promise<{ code: string; state: string }>;
  close(): Promise<void>;
}

type TokenRequest = IncomingMessage & { body: Record<string, string> };
type Mutable = { statusCode: number; body: Record<string, unknown> | string };

/**
 * A real OAuth2/OIDC server (oauth2-mock-server) in the Google shape: authorization code with
 * PKCE (it checks the verifier against the challenge itself), client_secret_post, and a
 * userinfo endpoint answering for the account each access token was issued to.
 */
export async function startGoogleProvider(): Promise<GoogleProvider> {
  const server = new OAuth2Server();
  await server.issuer.keys.generate('RS256');
  await server.start(0, '127.0.0.1');
  const url = `http://127.0.0.1:${server.address().port}`;
  const clientId = 'google-client-id';
  const clientSecret = 'google-client-secret';
  const byCode = new Map<string, GoogleIdentity>();
  const byToken = new Map<string, GoogleIdentity>();
  const tokenRequests: Record<string, string>[] = [];
  let signingIn: GoogleIdentity | undefined;

  server.service.on('beforeAuthorizeRedirect', ({ url: redirect }: { url: URL }) => {
    const code = redirect.searchParams.get('code');
    if (code && signingIn) byCode.set(code, signingIn);
  });
  server.service.on('beforeResponse', (response: Mutable, req: TokenRequest) => {
    const body = req.body;
    tokenRequests.push(body);
    const identity = byCode.get(body.code ?? '');
    byCode.delete(body.code ?? '');
    const refuse = (status: number, error: string) => {
      response.statusCode = status;
      response.body = { error, error_description: error };
    };
    if (body.client_id !== clientId || body.client_secret !== clientSecret) {
      return refuse(401, 'invalid_client');
    }
    // Google requires the verifier of a PKCE authorization; the server checks it when sent.
    if (!body.code_verifier) return refuse(400, 'invalid_request');
    if (!identity || identity.refuseCode) return refuse(400, 'invalid_grant');
    if (identity.omitAccessToken) {
      response.body = { token_type: 'Bearer', expires_in: 3600 };
      return;
    }
    byToken.set(String((response.body as Record<string, unknown>).access_token), identity);
  });
  server.service.on('beforeUserinfo', (response: Mutable, req: IncomingMessage) => {
    const token = req.headers.authorization?.replace(/^Bearer /, '') ?? '';
    const identity = byToken.get(token);
    if (!identity) {
      response.statusCode = 401;
      response.body = { error: 'invalid_token' };
      return;
    }
    if (identity.userinfoStatus !== undefined) {
      response.statusCode = identity.userinfoStatus;
      response.body = { error: 'backend_error' };
      return;
    }
    const { sub, email, email_verified, name, picture } = identity;
    response.body = { sub, email, email_verified, name, picture };
  });

  return {
    url,
    clientId,
    clientSecret,
    env: {
      GOOGLE_CLIENT_ID: clientId,
      GOOGLE_CLIENT_SECRET: clientSecret,
      GOOGLE_REDIRECT_URI: 'http://localhost:3000/oauth/google/callback',
      GOOGLE_AUTH_URL: `${url}/authorize`,
      GOOGLE_TOKEN_URL: `${url}/token`,
      GOOGLE_USERINFO_URL: `${url}/userinfo`,
    },
    tokenRequests,
    async authorize(authUrl, identity) {
      signingIn = identity;
      const response = await fetch(authUrl, { redirect: 'manual' });
      signingIn = undefined;
      return callbackParams(response);
    },
    close: () => server.stop(),
  };
}

/** The code and state the provider's redirect hands to the frontend's callback page. */
export function callbackParams(response: Response): { code: string; state: string } {
  const location = response.headers.get('location');
  if (response.status !== 302 || !location) {
    throw new Error(`the provider did not redirect: ${response.status}`);
  }
  const params = new URL(location).searchParams;
  return { code: params.get('code') ?? '', state: params.get('state') ?? '' };
}
