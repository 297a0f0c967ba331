import type { FuzzCase } from './cases.ts';
import type { FuzzContract } from './contract.ts';
import type { SchemaCheck } from './schema-check.ts';
import type { FuzzAnswer } from './send.ts';

/**
 * Refusals no operation lists because they come before any operation is matched: the route
 * layer answers them for any path (docs/error-codes.md). A broken percent-encoding in the path
 * is one (Express refuses to decode it); a path parameter that fails to match the template
 * (an empty one, an encoded slash) lands on another route or on none.
 */
const ROUTING_CODES = new Set(['general:not_found', 'general:method_not_allowed']);

function mediaTypeOf(answer: FuzzAnswer): string {
  return String(answer.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim();
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
  if (answer.status >= 500) problems.push(`answered ${answer.status}`);
  if (fuzz.refused && answer.status < 400) {
    problems.push(`accepted an input the contract refuses (${answer.status})`);
  }

  if (answer.status >= 400) {
    let body: { status?: unknown; code?: unknown } | undefined;
    try {
      body = JSON.parse(answer.body.toString('utf8')) as typeof body;
    } catch {
      problems.push(`error body is not JSON: ${answer.body.toString('utf8').slice(0, 120)}`);
    }
    if (body) {
      const shape = check.errors({ $ref: '#/components/schemas/Error' }, body);
      if (shape.length > 0)
        problems.push(`error body breaks the Error schema: ${shape.join('; ')}`);
      const code = String(body.code);
      const catalogued = contract.errorStatuses.get(code);
      if (catalogued === undefined) problems.push(`code ${code} is not in the catalogue`);
      else if (catalogued !== answer.status)
        problems.push(`code ${code} is ${catalogued} in the catalogue, answered ${answer.status}`);
      if (body.status !== answer.status)
        problems.push(`body status ${String(body.status)} ≠ ${answer.status}`);
      if (!operation.errorCodes.has(code) && !ROUTING_CODES.has(code)) {
        problems.push(`code ${code} is not in ${operation.operationId}'s x-error-codes`);
      }
    }
    if (!declared && !ROUTING_CODES.has(String(body?.code))) {
      problems.push(`status ${answer.status} is not declared by ${operation.operationId}`);
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
