import type { FuzzCase } from './cases.ts';
import type { FuzzContract } from './contract.ts';
import type { SchemaCheck } from './schema-check.ts';
import type { FuzzAnswer } from './send.ts';

/**
 * Refusals no operation lists because they come before any operation is matched: no route
 * for the path, or the path without this method (docs/error-codes.md). Only a request sent to
 * no operation, or one whose path parameter was fuzzed out of its template, may get them.
 */
const ROUTING_CODES = new Set(['general:not_found', 'general:method_not_allowed']);

const mayMissItsRoute = (fuzz: FuzzCase) =>
  fuzz.operation.responses.size === 0 || fuzz.operation.parameters.some((p) => p.in === 'path');

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
      const routing = ROUTING_CODES.has(code) && mayMissItsRoute(fuzz);
      if (!operation.errorCodes.has(code) && !routing) {
        problems.push(`code ${code} is not in ${operation.operationId}'s x-error-codes`);
      }
    }
    if (!declared && !(ROUTING_CODES.has(String(body?.code)) && mayMissItsRoute(fuzz))) {
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
