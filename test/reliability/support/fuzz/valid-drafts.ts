import fc from 'fast-check';
import { validValue, type ValueContext } from './arbitraries.ts';
import type { FuzzContract, FuzzOperation, FuzzParameter, Schema } from './contract.ts';
import type { Caller, Draft, DraftBody, MultipartPart } from './draft.ts';
import { headerSafe } from './request.ts';
import type { SchemaCheck } from '../../../support/contract-schema-check.ts';

export interface CaseContext {
  contract: FuzzContract;
  check: SchemaCheck;
  values: ValueContext;
}

export function parameterValue(
  parameter: FuzzParameter,
  context: CaseContext,
): fc.Arbitrary<string> {
  return validValue(parameter.schema, context.values)
    .map((value) => {
      const text = typeof value === 'string' ? value : JSON.stringify(value);
      return parameter.in === 'header' ? headerSafe(text) : text;
    })
    .filter((text) => context.check.parameterErrors(parameter.schema, text).length === 0);
}

/** The form of an upload's fields the schema check reads: files as strings, repeats as arrays. */
export function partsAsObject(parts: MultipartPart[]): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (const part of parts) {
    const value = typeof part.value === 'string' ? part.value : 'binary';
    object[part.name] = part.name in object ? [object[part.name], value].flat() : value;
  }
  return object;
}

function validBody(
  operation: FuzzOperation,
  context: CaseContext,
): fc.Arbitrary<DraftBody> | undefined {
  const body = operation.body;
  if (!body) return undefined;
  const { check, values, contract } = context;
  if (body.mediaType === 'multipart/form-data') {
    const schema = contract.resolve(body.schema);
    const properties = (schema.properties as Record<string, Schema> | undefined) ?? {};
    const required = new Set((schema.required as string[] | undefined) ?? []);
    const parts = Object.entries(properties).map(([name, property]) =>
      validValue(property, values).map((value): MultipartPart | undefined =>
        value instanceof Uint8Array
          ? { name, value, filename: `${name}.img`, type: 'application/octet-stream' }
          : { name, value: String(value) },
      ),
    );
    return fc
      .tuple(
        fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 16, maxLength: 16 }),
        ...parts.map((part, i) =>
          required.has(Object.keys(properties)[i]!) ? part : fc.option(part, { nil: undefined }),
        ),
      )
      .map(([boundary, ...list]) => ({
        kind: 'multipart' as const,
        parts: list.filter((p) => p !== undefined),
        boundary: `fuzz${boundary}`,
      }));
  }
  return validValue(body.schema, values)
    .filter((value) => check.errors(body.schema, value).length === 0)
    .map((value) => ({ kind: 'json' as const, value }));
}

/**
 * A page cursor is only valid as the listing issued it: a made-up string fits its schema, yet
 * the handler refuses it (general:validation_error, "not a cursor this listing issued"). The
 * schema cannot make one, so valid requests go without; the invalid ones still send made-up ones.
 */
const isOpaqueCursor = (parameter: FuzzParameter, context: CaseContext) =>
  parameter.name === 'cursor' &&
  !parameter.required &&
  !context.contract.resolve(parameter.schema).format;

/** Valid requests: every required parameter, some optional ones, a body the schema accepts. */
export function validDraft(operation: FuzzOperation, context: CaseContext): fc.Arbitrary<Draft> {
  const pick = (where: FuzzParameter['in']) =>
    operation.parameters
      .filter((p) => p.in === where && !isOpaqueCursor(p, context))
      .map((p) =>
        (p.required
          ? parameterValue(p, context)
          : fc.option(parameterValue(p, context), { nil: undefined })
        ).map((value) => [p.name, value] as const),
      );
  const body = validBody(operation, context) ?? fc.constant(undefined);
  const caller: fc.Arbitrary<Caller> = operation.needsSession
    ? fc.constant('user')
    : fc.constantFrom<Caller>('anonymous', 'anonymous', 'user');
  return fc
    .record({
      path: fc.tuple(...pick('path')),
      query: fc.tuple(...pick('query')),
      headers: fc.tuple(...pick('header')),
      body,
      caller,
    })
    .map(({ path, query, headers, body, caller }) => ({
      pathParams: Object.fromEntries(path) as Record<string, string>,
      query: query
        .filter(([, v]) => v !== undefined)
        .map(([name, value]) => ({ name, value: value! })),
      headers: Object.fromEntries(headers.filter(([, v]) => v !== undefined)) as Record<
        string,
        string
      >,
      body,
      caller,
    }));
}
