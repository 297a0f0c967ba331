import { AppError } from '../../shared/errors/app-error.ts';
import type { ErrorCode } from '../../shared/errors/codes.ts';

type ProviderFailure = Extract<
  ErrorCode,
  'oauth:token_exchange_failed' | 'oauth:user_info_fetch_failed'
>;

export interface ProviderResponse {
  status: number;
  body: unknown;
}

/**
 * One call to a provider, bounded by `timeoutMs`. Any failure to get an answer (network,
 * timeout, a body that is neither JSON nor a form) is the 502 `failure`; a refusal is an answer
 * and is returned with its status for the caller to judge. Redirects are refused: a provider
 * endpoint that moved is a configuration error, and following it would send the client secret
 * or the access token somewhere unconfigured.
 */
export async function callProvider(
  url: string,
  init: RequestInit & { timeoutMs: number },
  failure: ProviderFailure,
): Promise<ProviderResponse> {
  const { timeoutMs, ...request } = init;
  try {
    const response = await fetch(url, {
      ...request,
      redirect: 'error',
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    return { status: response.status, body: parseBody(response.headers.get('content-type'), text) };
  } catch (error) {
    throw new AppError(failure, 'The OAuth provider did not answer', { cause: error });
  }
}

/** GitHub answers form-encoded unless asked for JSON; both are read, whatever was asked. */
function parseBody(contentType: string | null, text: string): unknown {
  const type = contentType?.split(';')[0]?.trim().toLowerCase() ?? '';
  if (type === 'application/x-www-form-urlencoded') {
    return Object.fromEntries(new URLSearchParams(text));
  }
  if (type === 'application/json' || type.endsWith('+json')) return JSON.parse(text) as unknown;
  throw new Error(`unexpected content type ${type || '(none)'}`);
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
