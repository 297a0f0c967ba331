/**
 * The error codes an operation can answer because of its shape rather than its own logic: the
 * refusals of the shared pipeline (src/app.ts) and of the guards the router puts in front of
 * it (src/http/router.ts). This table is the one place they are derived; loadContract refuses
 * an operation whose `x-error-codes` lack one, and the statuses follow because every listed
 * code needs its response. docs/error-codes.md prints the same table.
 *
 * test/contract/generic-errors.test.ts provokes these refusals over HTTP for every operation,
 * so a rule that stops matching the pipeline fails there.
 */

/** What the rules look at; loadContract reads it from each operation. */
export interface OperationShape {
  /** `x-probe: true`: served ahead of the API pipeline (no validation, no stability layer). */
  probe: boolean;
  /** Media types of the request body; empty when the operation takes none. */
  requestBodyTypes: string[];
  /** A `text/event-stream` success response: a long-lived stream, outside the stability layer. */
  eventStream: boolean;
  sessionRequired: boolean;
  rateLimited: boolean;
  turnstile: boolean;
  /** `x-pending: true`: declared but not built yet; the app answers 501 for it. */
  pending: boolean;
}

export interface GenericRule {
  /** Which operations, as docs/error-codes.md words it. */
  appliesTo: string;
  /** Why they can answer these codes. */
  because: string;
  codes: readonly string[];
  applies(op: OperationShape): boolean;
}

export const GENERIC_RULES: readonly GenericRule[] = [
  {
    appliesTo: 'every operation but the probes',
    because: 'the contract validator refuses unknown query parameters and malformed parameters',
    codes: ['general:validation_error'],
    applies: (op) => !op.probe,
  },
  {
    appliesTo: 'every operation but the probes',
    because:
      'an unexpected failure answers 500, and so, outside production, does a response that breaks the contract',
    codes: ['system:internal_error'],
    applies: (op) => !op.probe,
  },
  {
    appliesTo: 'every operation but the probes and event streams',
    because: 'the stability layer sheds load and times requests out',
    codes: ['system:overloaded', 'system:timeout'],
    applies: (op) => !op.probe && !op.eventStream,
  },
  {
    appliesTo: 'operations with a request body',
    because: 'the contract validator refuses a body of another content type',
    codes: ['general:unsupported_media_type'],
    applies: (op) => op.requestBodyTypes.length > 0,
  },
  {
    appliesTo: 'operations with a JSON request body',
    because: 'the JSON parser refuses a body that is not JSON or is over its limit',
    codes: ['general:bad_request', 'general:payload_too_large'],
    applies: (op) => op.requestBodyTypes.includes('application/json'),
  },
  {
    appliesTo: 'operations that require a session',
    because:
      'the session is read from its store and its user from the database, and it may be missing or past its lifetime',
    codes: [
      'auth:unauthorized',
      'auth:session_expired',
      'system:database_error',
      'system:dependency_unavailable',
    ],
    applies: (op) => op.sessionRequired,
  },
  {
    appliesTo: 'operations with `x-rate-limit`',
    because: 'the limiter refuses over the limit and fails closed without its Redis',
    codes: ['rate_limit:exceeded', 'system:dependency_unavailable'],
    applies: (op) => op.rateLimited,
  },
  {
    appliesTo: 'operations with `x-turnstile`',
    because: 'the Turnstile check needs a token that Cloudflare accepts',
    codes: ['turnstile:token_missing', 'turnstile:verification_failed', 'turnstile:service_error'],
    applies: (op) => op.turnstile,
  },
  {
    appliesTo: 'operations with `x-pending`',
    because: 'the router answers 501 until they are built',
    codes: ['system:not_implemented'],
    applies: (op) => op.pending,
  },
];

/** Every code the operation must list because of its shape, each with the first rule implying it. */
export function impliedCodes(op: OperationShape): Map<string, GenericRule> {
  const implied = new Map<string, GenericRule>();
  for (const rule of GENERIC_RULES) {
    if (!rule.applies(op)) continue;
    for (const code of rule.codes) if (!implied.has(code)) implied.set(code, rule);
  }
  return implied;
}
