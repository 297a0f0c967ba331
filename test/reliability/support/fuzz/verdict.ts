import type { FuzzCase } from './cases.ts';
import type { FuzzContract } from './contract.ts';
import type { SchemaCheck } from '../../../support/contract-schema-check.ts';
import type { FuzzAnswer } from './send.ts';

/**
 * Refusals no operation lists because they come before any operation is matched: no route
 * for the path, or the path without this method (docs/error-codes.md). Only a request sent to
 * no operation, or one whose path parameter was fuzzed out of its template, may get them.
 */
const ROUTING_CODES = new Set(['general:not_found', 'general:method_not_allowed']);

/**
 * What the body parsers, the upload reader and the contract validator answer, in front of
 * every handler: the refusals of a request's shape.
 */
const SHAPE_CODES = new Set([
  'general:validation_error',
  'general:bad_request',
  'general:payload_too_large',
  'general:unsupported_media_type',
  'file:too_large',
]);

/** What requireSession answers a caller without a live session. */
const SESSION_CODES = new Set(['auth:unauthorized']);

/** Codes answered before the handler runs, whatever the input: the handler never saw it. */
const BEFORE_HANDLER_CODES = new Set([...SHAPE_CODES, ...SESSION_CODES, 'rate_limit:exceeded']);

const ERROR_SCHEMA = { $ref: '#/components/schemas/Error' };

function mediaTypeOf(answer: FuzzAnswer): string {
  return String(answer.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim();
}

/** The catalogue code of an error answer, when its body is one. */
export function errorCode(answer: FuzzAnswer): string | undefined {
  if (answer.status < 400) return undefined;
  try {
    const body = JSON.parse(answer.body.toString('utf8')) as { code?: unknown };
    return typeof body?.code === 'string' ? body.code : undefined;
  } catch {
    return undefined;
  }
}

/** The answer came from the operation's handler, not from a layer in front of it. */
export const reachedItsHandler = (answer: FuzzAnswer) =>
  answer.status < 400 || !BEFORE_HANDLER_CODES.has(errorCode(answer) ?? '');

/** The codes a refused case may get, by what refuses it (see the pipeline in src/app.ts). */
function refusalCodes(fuzz: FuzzCase): ReadonlySet<string> | undefined {
  switch (fuzz.expect) {
    case 'shape':
      return fuzz.pathMutated ? new Set([...SHAPE_CODES, ...ROUTING_CODES]) : SHAPE_CODES;
    case 'session':
      return SESSION_CODES;
    case 'route':
      return ROUTING_CODES;
    default:
      return undefined;
  }
}

/** Everything wrong with an answer, by the contract; [] when it is right. */
export function judge(
  contract: FuzzContract,
  check: SchemaCheck,
  fuzz: FuzzCase,
  answer: FuzzAnswer,
): string[] {
  const { operation } = fuzz;
  const problems: string[] = [];
  const declared = operation.responses.get(answer.status);
  const refusedBy = refusalCodes(fuzz);
  if (answer.status >= 500) problems.push(`answered ${answer.status}`);
  if (refusedBy && answer.status < 400) {
    problems.push(`accepted an input the contract refuses (${answer.status})`);
  }

  if (answer.status >= 400) {
    let body: { status?: unknown; code?: unknown } | undefined;
    try {
      body = JSON.parse(answer.body.toString('utf8')) as typeof body;
    } catch {
      problems.push(`error body is not JSON: ${answer.body.toString('utf8').slice(0, 120)}`);
    }
    const code = String(body?.code);
    const routing = ROUTING_CODES.has(code) && fuzz.pathMutated;
    if (body) {
      const shape = check.errors(ERROR_SCHEMA, body);
      if (shape.length > 0)
        problems.push(`error body breaks the Error schema: ${shape.join('; ')}`);
      const catalogued = contract.errorStatuses.get(code);
      if (catalogued === undefined) problems.push(`code ${code} is not in the catalogue`);
      else if (catalogued !== answer.status)
        problems.push(`code ${code} is ${catalogued} in the catalogue, answered ${answer.status}`);
      if (body.status !== answer.status)
        problems.push(`body status ${String(body.status)} ≠ ${answer.status}`);
      if (!operation.errorCodes.has(code) && !routing) {
        problems.push(`code ${code} is not in ${operation.operationId}'s x-error-codes`);
      }
    }
    if (!declared && !routing) {
      problems.push(`status ${answer.status} is not declared by ${operation.operationId}`);
    }
    if (fuzz.expect === 'valid' && SHAPE_CODES.has(code)) {
      problems.push(`refused a request the contract accepts (${code})`);
    }
    // A handler's own refusal (not found, rate limited, wrong password) proves the input got
    // past the layer that had to refuse it.
    if (refusedBy && !refusedBy.has(code)) {
      problems.push(`answered ${code}, expected ${fuzz.code ?? [...refusedBy].join(' or ')}`);
    } else if (fuzz.code && code !== fuzz.code) {
      problems.push(`answered ${code}, expected ${fuzz.code}`);
    }
    return problems;
  }

  if (!declared) {
    problems.push(`status ${answer.status} is not declared by ${operation.operationId}`);
    return problems;
  }
  if (!declared.mediaType) {
    if (answer.body.length > 0)
      problems.push(`${answer.status} carries a body the contract does not declare`);
    return problems;
  }
  if (mediaTypeOf(answer) !== declared.mediaType) {
    problems.push(
      `${answer.status} is ${mediaTypeOf(answer)}, the contract says ${declared.mediaType}`,
    );
    return problems;
  }
  if (declared.mediaType === 'application/json' && declared.schema) {
    let body: unknown;
    try {
      body = JSON.parse(answer.body.toString('utf8'));
    } catch {
      problems.push(`${answer.status} body is not JSON`);
      return problems;
    }
    const errors = check.errors(declared.schema, body);
    if (errors.length > 0)
      problems.push(`${answer.status} body breaks its schema: ${errors.join('; ')}`);
  }
  return problems;
}
