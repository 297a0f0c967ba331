import type { OAuthProviderConfig } from '../../config/oauth.ts';
import { AppError } from '../../shared/errors/app-error.ts';
import { callProvider, isRecord } from './oauth.http.ts';

export interface AuthorizationRequest {
  scopes: readonly string[];
  state: string;
  codeChallenge: string;
}

/** The provider's authorization URL: the authorization-code flow with PKCE S256. */
export function authorizationUrl(
  provider: OAuthProviderConfig,
  request: AuthorizationRequest,
): string {
  const url = new URL(provider.authUrl);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: provider.clientId,
    redirect_uri: provider.redirectUri,
    scope: request.scopes.join(' '),
    state: request.state,
    code_challenge: request.codeChallenge,
    code_challenge_method: 'S256',
  }).toString();
  return url.href;
}

const exchangeFailed = (details: string, cause?: unknown) =>
  new AppError('oauth:token_exchange_failed', details, { cause });

/**
 * Trades the authorization code and the PKCE verifier for an access token. The client
 * authenticates in the body (client_secret_post), which both providers accept. GitHub answers
 * a refused code with 200 and an `error` field, so success is the presence of a bearer token,
 * not the status.
 */
export async function exchangeCode(
  provider: OAuthProviderConfig,
  input: { code: string; codeVerifier: string; timeoutMs: number },
): Promise<string> {
  const { status, body } = await callProvider(
    provider.tokenUrl,
    {
      method: 'POST',
      headers: {
        accept: 'application/json',
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: input.code,
        redirect_uri: provider.redirectUri,
        client_id: provider.clientId,
        client_secret: provider.clientSecret,
        code_verifier: input.codeVerifier,
      }),
      timeoutMs: input.timeoutMs,
    },
    'oauth:token_exchange_failed',
  );
  const error = isRecord(body) && typeof body.error === 'string' ? body.error : undefined;
  if (status < 200 || status >= 300 || error !== undefined) {
    throw exchangeFailed(
      `The provider did not accept the authorization code (${error ?? `HTTP ${status}`})`,
    );
  }
  const token = isRecord(body) ? body.access_token : undefined;
  const type = isRecord(body) ? body.token_type : undefined;
  // Token types are case-insensitive (RFC 6749 §5.1); GitHub says `bearer`.
  if (typeof token !== 'string' || token === '' || String(type).toLowerCase() !== 'bearer') {
    throw exchangeFailed('The provider answered without a bearer access token');
  }
  return token;
}
