export interface TurnstileClientConfig {
  secretKey: string;
  verifyUrl: string;
  timeoutMs: number;
}

/**
 * `passed` and `rejected` are Cloudflare's verdict on the token; `unavailable` means there is
 * no verdict (unreachable, timeout, 5xx, an answer that is not siteverify's, or an error on our
 * side of the exchange), which is no fault of the client.
 */
export type TurnstileVerdict =
  | { outcome: 'passed' }
  | { outcome: 'rejected'; errorCodes: string[] }
  | { outcome: 'unavailable'; reason: string };

export interface TurnstileClient {
  verify(token: string, remoteIp: string | undefined): Promise<TurnstileVerdict>;
}

// siteverify's error codes that blame our secret, our request or Cloudflare, not the token.
const SERVICE_FAULTS = new Set([
  'missing-input-secret',
  'invalid-input-secret',
  'bad-request',
  'internal-error',
]);

/** Cloudflare Turnstile's siteverify: one form POST per token, bounded by the timeout. */
export function createTurnstileClient(config: TurnstileClientConfig): TurnstileClient {
  return {
    async verify(token, remoteIp) {
      const form = new URLSearchParams({ secret: config.secretKey, response: token });
      if (remoteIp) form.set('remoteip', remoteIp);
      let body: unknown;
      try {
        const response = await fetch(config.verifyUrl, {
          method: 'POST',
          body: form,
          signal: AbortSignal.timeout(config.timeoutMs),
        });
        if (!response.ok) return { outcome: 'unavailable', reason: `HTTP ${response.status}` };
        body = await response.json();
      } catch (error) {
        return { outcome: 'unavailable', reason: (error as Error).message };
      }

      const { success, 'error-codes': codes } = (body ?? {}) as Record<string, unknown>;
      if (typeof success !== 'boolean') {
        return { outcome: 'unavailable', reason: 'the answer has no boolean `success`' };
      }
      if (success) return { outcome: 'passed' };
      const errorCodes = Array.isArray(codes) ? codes.map(String) : [];
      const fault = errorCodes.find((code) => SERVICE_FAULTS.has(code));
      return fault
        ? { outcome: 'unavailable', reason: `siteverify error ${fault}` }
        : { outcome: 'rejected', errorCodes };
    },
  };
}
