import fc from 'fast-check';
import { validValue, type ValueContext } from './arbitraries.ts';
import type { FuzzContract, FuzzOperation, FuzzParameter, Schema } from './contract.ts';
import type { Caller, Draft, DraftBody, MultipartPart } from './draft.ts';
import {
  deeplyNested,
  deeplyNestedText,
  invalidParameterString,
  invalidValue,
} from './invalid-values.ts';
import { headerSafe, percentEncode } from './request.ts';
import type { SchemaCheck } from './schema-check.ts';
import { imageKinds } from '../../../../src/modules/users/user-images.kinds.ts';

/** One generated input of an operation and what the contract says of it. */
export interface FuzzCase {
  operation: FuzzOperation;
  /** What was done to a valid request (`valid` for none), for the failure report. */
  kind: string;
  /** The contract refuses this input: it must get a 4xx, and change nothing. */
  refused: boolean;
  draft: Draft;
}

export interface CaseContext {
  contract: FuzzContract;
  check: SchemaCheck;
  values: ValueContext;
}

type Mutation = { kind: string; draft: Draft; refused?: boolean };

const JSON_LIMIT_BYTES = 1024 * 1024;
const NESTINGS: [number, 'array' | 'object'][] = [
  [10, 'array'],
  [1000, 'object'],
  [5000, 'array'],
  [50_000, 'object'],
];

function parameterValue(parameter: FuzzParameter, context: CaseContext): fc.Arbitrary<string> {
  return validValue(parameter.schema, context.values)
    .map((value) => {
      const text = typeof value === 'string' ? value : JSON.stringify(value);
      return parameter.in === 'header' ? headerSafe(text) : text;
    })
    .filter((text) => context.check.parameterErrors(parameter.schema, text).length === 0);
}

/** The form of an upload's fields the schema check reads: files as strings, repeats as arrays. */
function partsAsObject(parts: MultipartPart[]): Record<string, unknown> {
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
        ...parts.map((part, i) =>
          required.has(Object.keys(properties)[i]!) ? part : fc.option(part, { nil: undefined }),
        ),
      )
      .map((list) => ({ kind: 'multipart' as const, parts: list.filter((p) => p !== undefined) }));
  }
  return validValue(body.schema, values)
    .filter((value) => check.errors(body.schema, value).length === 0)
    .map((value) => ({ kind: 'json' as const, value }));
}

/** Valid requests: every required parameter, some optional ones, a body the schema accepts. */
export function validDraft(operation: FuzzOperation, context: CaseContext): fc.Arbitrary<Draft> {
  const pick = (where: FuzzParameter['in']) =>
    operation.parameters
      .filter((p) => p.in === where)
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

const clone = (draft: Draft): Draft => structuredClone(draft);

/** Percent-encodings that decode to nothing valid: truncated, not hex, not UTF-8, NUL. */
const BROKEN_PERCENT_ENCODINGS = ['%', '%ZZ', '%FF', '%C3%28', '%ED%A0%80', '%00', '%E2%82'];

/** Bigger than the limit of any upload route. */
const OVERSIZE_UPLOAD_BYTES =
  Math.max(...Object.values(imageKinds).map((kind) => kind.maxBytes)) + 1;

const CONTENT_TYPES = [
  'application/json',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/xml',
  'application/json; charset=utf-16',
  'image/png',
  '',
  'application/json-patch+json',
  '*/*',
];

/**
 * Node answers 431 itself, before the app, to a request line and headers over 16 KiB: a
 * transport limit (the hostile-transport scenario's), not the contract's. Parameters stay
 * well under it.
 */
const fitsRequestHead = (value: string) => percentEncode(value).length <= 4096;

/**
 * The query parser reads `a[b]` as nested keys and drops keys that name Object.prototype
 * members (`__proto__`, `toString`): such a key may never reach the validator as a parameter.
 */
const reachesTheValidator = (name: string) => !/[[\]]/.test(name) && !(name in Object.prototype);

/** Each way to break a request of this operation, one per parameter, field and transport rule. */
function mutations(
  operation: FuzzOperation,
  context: CaseContext,
): fc.Arbitrary<(d: Draft) => Mutation>[] {
  const { check, contract } = context;
  const list: fc.Arbitrary<(d: Draft) => Mutation>[] = [];
  const validated = !operation.probe;

  for (const parameter of operation.parameters) {
    list.push(
      invalidParameterString(parameter.schema, contract.resolve)
        .filter((raw) => fitsRequestHead(raw) && !(parameter.in === 'path' && raw === ''))
        .map((raw) => (draft: Draft) => {
          const value = parameter.in === 'header' ? headerSafe(raw) : raw;
          const next = clone(draft);
          if (parameter.in === 'path') next.pathParams[parameter.name] = value;
          if (parameter.in === 'header') next.headers[parameter.name] = value;
          if (parameter.in === 'query') {
            next.query = next.query.filter((e) => e.name !== parameter.name);
            next.query.push({ name: parameter.name, value });
          }
          const broken = check.parameterErrors(parameter.schema, value).length > 0;
          return {
            kind: `${parameter.in}.${parameter.name} = ${JSON.stringify(value).slice(0, 60)}`,
            draft: next,
            refused: broken,
          };
        }),
    );
    if (parameter.required && parameter.in !== 'path') {
      list.push(
        fc.constant((draft: Draft) => {
          const next = clone(draft);
          next.query = next.query.filter((e) => e.name !== parameter.name);
          delete next.headers[parameter.name];
          return { kind: `missing ${parameter.in}.${parameter.name}`, draft: next, refused: true };
        }),
      );
    }
    if (parameter.in === 'query') {
      // Node's query parser makes an array of a repeated key; the contract names no arrays.
      list.push(
        fc
          .tuple(parameterValue(parameter, context), parameterValue(parameter, context))
          .map(([a, b]) => (draft: Draft) => {
            const next = clone(draft);
            next.query = next.query.filter((e) => e.name !== parameter.name);
            next.query.push({ name: parameter.name, value: a }, { name: parameter.name, value: b });
            return { kind: `duplicated query.${parameter.name}`, draft: next };
          }),
      );
    }
    if (parameter.in === 'path') {
      list.push(
        fc.constantFrom(...BROKEN_PERCENT_ENCODINGS).map((junk) => (draft: Draft) => {
          const next = clone(draft);
          next.pathParams[parameter.name] = junk;
          next.rawPathParams = [parameter.name];
          return { kind: `path.${parameter.name} percent-encoding ${junk}`, draft: next };
        }),
      );
    }
    if (parameter.in === 'query') {
      list.push(
        fc.constantFrom(...BROKEN_PERCENT_ENCODINGS).map((junk) => (draft: Draft) => {
          const next = clone(draft);
          next.query = next.query.filter((e) => e.name !== parameter.name);
          next.query.push({ name: parameter.name, value: junk, raw: true });
          return { kind: `query.${parameter.name} percent-encoding ${junk}`, draft: next };
        }),
      );
    }
  }
  list.push(
    fc
      .tuple(fc.string({ minLength: 1, maxLength: 12 }), fc.string({ maxLength: 12 }))
      .map(([name, value]) => (draft: Draft) => {
        const next = clone(draft);
        const known = operation.parameters.some((p) => p.in === 'query' && p.name === name);
        next.query.push({ name, value });
        return {
          kind: `unknown query ${JSON.stringify(name)}`,
          draft: next,
          refused: validated && !known && reachesTheValidator(name),
        };
      }),
  );

  if (operation.needsSession) {
    list.push(
      fc.constantFrom<Caller>('anonymous', 'forged').map((caller) => (draft: Draft) => ({
        kind: `caller ${caller}`,
        draft: { ...clone(draft), caller },
        refused: true,
      })),
    );
  }

  const body = operation.body;
  if (!body) {
    list.push(
      fc.jsonValue({ maxDepth: 2 }).map((value) => (draft: Draft) => ({
        kind: 'body sent to an operation that takes none',
        draft: { ...clone(draft), body: { kind: 'json', value } },
      })),
    );
    return list;
  }
  const required = body.required;

  if (body.mediaType === 'application/json') {
    const schema = contract.resolve(body.schema);
    const properties = (schema.properties as Record<string, Schema> | undefined) ?? {};
    const asJson = (draft: Draft) =>
      draft.body?.kind === 'json' ? (draft.body.value as Record<string, unknown>) : {};
    const withValue =
      (kind: string, value: unknown) =>
      (draft: Draft): Mutation => ({
        kind,
        draft: { ...clone(draft), body: { kind: 'json', value } },
        refused: check.errors(body.schema, value).length > 0,
      });
    for (const [name, property] of Object.entries(properties)) {
      list.push(
        invalidValue(property, contract.resolve).map(
          (value) => (draft: Draft) =>
            withValue(`body.${name} = ${JSON.stringify(value)?.slice(0, 60)}`, {
              ...asJson(draft),
              [name]: value,
            })(draft),
        ),
      );
      list.push(
        fc.constant((draft: Draft) => {
          const rest = Object.fromEntries(
            Object.entries(asJson(draft)).filter(([key]) => key !== name),
          );
          return withValue(`body without ${name}`, rest)(draft);
        }),
      );
      list.push(
        fc.constantFrom(...NESTINGS).map(([depth, shape]) => (draft: Draft): Mutation => {
          // Built as text: JSON.stringify itself recurses, and would overflow first.
          const marker = '\u0000nested';
          const text = JSON.stringify({ ...asJson(draft), [name]: marker }).replace(
            JSON.stringify(marker),
            deeplyNestedText(depth, shape),
          );
          return {
            kind: `body.${name} nested ${depth} deep`,
            draft: {
              ...clone(draft),
              body: { kind: 'raw', bytes: Buffer.from(text), contentType: 'application/json' },
            },
            // The schema check recurses too; three levels of the same shape break it the same way.
            refused:
              check.errors(body.schema, { ...asJson(draft), [name]: deeplyNested(3, shape) })
                .length > 0,
          };
        }),
      );
    }
    list.push(
      fc
        .tuple(
          fc.constantFrom('__proto__', 'constructor', 'prototype', 'extra', 'ID', ''),
          fc.jsonValue({ maxDepth: 2 }),
        )
        .map(([name, value]) => (draft: Draft) => {
          // JSON.parse makes `__proto__` an own field, as a JSON parser on the server sees it.
          const text = JSON.stringify(asJson(draft))
            .replace(/^\{/, `{${JSON.stringify(name)}:${JSON.stringify(value)},`)
            .replace(/,}$/, '}');
          const parsed = JSON.parse(text) as unknown;
          return {
            ...withValue(`unknown body field ${JSON.stringify(name)}`, parsed)(draft),
            draft: {
              ...clone(draft),
              body: { kind: 'raw', bytes: Buffer.from(text), contentType: 'application/json' },
            },
          };
        }),
    );
    list.push(
      invalidValue(body.schema, contract.resolve).map(
        (value) => (draft: Draft) =>
          withValue(`body = ${JSON.stringify(value)?.slice(0, 60)}`, value)(draft),
      ),
    );
    list.push(
      fc
        .constantFrom(
          '{',
          '{"a":',
          "{'a':1}",
          '[1,]',
          'nul',
          '\u0000',
          '{"a":1}{"b":2}',
          '"\\ud800"',
          '1e99999',
          '{"a":"\\u00"}',
        )
        .map((text) => (draft: Draft) => ({
          kind: `body not JSON ${JSON.stringify(text)}`,
          draft: {
            ...clone(draft),
            body: { kind: 'raw', bytes: Buffer.from(text), contentType: 'application/json' },
          },
          refused: true,
        })),
    );
    list.push(
      fc.constantFrom(100_000, 1_000_000).map((depth) => (draft: Draft) => ({
        kind: `body nested ${depth} deep`,
        draft: {
          ...clone(draft),
          body: {
            kind: 'raw',
            bytes: Buffer.from(deeplyNestedText(depth, 'array')),
            contentType: 'application/json',
          },
        },
        refused: true,
      })),
    );
    list.push(
      fc.constantFrom(...Object.keys(properties), 'padding').map((name) => (draft: Draft) => ({
        kind: `body over the JSON limit in ${name}`,
        draft: {
          ...clone(draft),
          body: {
            kind: 'json',
            value: { ...asJson(draft), [name]: 'x'.repeat(JSON_LIMIT_BYTES + 10) },
          },
        },
        refused: true,
      })),
    );
    list.push(
      fc
        .tuple(
          fc.constantFrom(
            Buffer.from([0xff]),
            Buffer.from([0xc3, 0x28]),
            Buffer.from([0xed, 0xa0, 0x80]),
            Buffer.from([0xf4, 0x90, 0x80, 0x80]),
            Buffer.from([0xc0, 0xaf]),
          ),
        )
        .map(([bytes]) => (draft: Draft) => {
          const text = JSON.stringify(asJson(draft));
          const at = text.indexOf('":"') + 3;
          const spliced =
            at > 2
              ? Buffer.concat([Buffer.from(text.slice(0, at)), bytes, Buffer.from(text.slice(at))])
              : Buffer.concat([Buffer.from('{"'), bytes, Buffer.from('":1}')]);
          return {
            kind: `invalid UTF-8 ${bytes.toString('hex')} in a JSON string`,
            draft: {
              ...clone(draft),
              body: { kind: 'raw', bytes: spliced, contentType: 'application/json' },
            },
          };
        }),
    );
  }

  if (body.mediaType === 'multipart/form-data') {
    const asParts = (draft: Draft) => (draft.body?.kind === 'multipart' ? draft.body.parts : []);
    const withParts =
      (kind: string, parts: MultipartPart[]) =>
      (draft: Draft): Mutation => ({
        kind,
        draft: { ...clone(draft), body: { kind: 'multipart', parts } },
        refused: check.errors(body.schema, partsAsObject(parts)).length > 0,
      });
    list.push(fc.constant((draft: Draft) => withParts('upload without parts', [])(draft)));
    list.push(
      fc.constant((draft: Draft) =>
        withParts(
          'upload over the size limit',
          asParts(draft).map((part) =>
            typeof part.value === 'string'
              ? part
              : { ...part, value: Buffer.alloc(OVERSIZE_UPLOAD_BYTES, 1) },
          ),
        )(draft),
      ),
    );
    list.push(
      fc.tuple(fc.string({ maxLength: 10 }), fc.string({ maxLength: 20 })).map(
        ([name, value]) =>
          (draft: Draft) =>
            withParts(`upload with extra field ${JSON.stringify(name)}`, [
              ...asParts(draft),
              { name, value },
            ])(draft),
      ),
    );
    list.push(
      fc.constant((draft: Draft) =>
        withParts('upload with a repeated part', [...asParts(draft), ...asParts(draft)])(draft),
      ),
    );
    list.push(
      fc.constant((draft: Draft) =>
        withParts(
          'upload parts as text',
          asParts(draft).map((p) => ({ name: p.name, value: 'text' })),
        )(draft),
      ),
    );
    list.push(
      fc.constant((draft: Draft) => ({
        kind: 'upload cut before its closing boundary',
        draft: {
          ...clone(draft),
          body: { kind: 'multipart', parts: asParts(draft), truncated: true },
        },
        refused: true,
      })),
    );
    list.push(
      fc
        .constantFrom(
          'multipart/form-data',
          'multipart/form-data; boundary=',
          'multipart/form-data; boundary=nothere',
        )
        .map((contentType) => (draft: Draft) => ({
          kind: `upload with Content-Type ${contentType}`,
          draft: {
            ...clone(draft),
            body: {
              kind: 'raw',
              bytes: Buffer.from(
                '--x\r\nContent-Disposition: form-data; name="file"\r\n\r\nabc\r\n--x--\r\n',
              ),
              contentType,
            },
          },
          refused: true,
        })),
    );
  }

  list.push(
    fc
      .constantFrom(...CONTENT_TYPES.filter((type) => type !== body.mediaType))
      .map((contentType) => (draft: Draft) => ({
        kind: `Content-Type ${JSON.stringify(contentType)}`,
        draft: {
          ...clone(draft),
          body: {
            kind: 'raw',
            bytes: Buffer.from('{"title":"t"}'),
            contentType: contentType || undefined,
          },
        },
        refused: required,
      })),
  );
  list.push(
    fc.constant((draft: Draft) => ({
      kind: 'no body',
      draft: { ...clone(draft), body: undefined },
      refused: required,
    })),
  );
  return list;
}

/**
 * `count` invalid requests of the operation, spread evenly over its mutations (so every
 * parameter and field gets its share), each applied to a fresh valid request.
 */
export function invalidCases(
  operation: FuzzOperation,
  context: CaseContext,
  count: number,
  seed: number,
): FuzzCase[] {
  const all = mutations(operation, context);
  const each = Math.max(1, Math.ceil(count / all.length));
  return all.flatMap((mutation, index) =>
    fc
      .sample(fc.tuple(validDraft(operation, context), mutation), {
        seed: seed + index,
        numRuns: each,
      })
      .map(([draft, mutate]) => {
        const { kind, draft: mutated, refused } = mutate(draft);
        return { operation, kind, refused: refused ?? false, draft: mutated };
      }),
  );
}

export function validCases(
  operation: FuzzOperation,
  context: CaseContext,
  count: number,
  seed: number,
): FuzzCase[] {
  // An operation with little to vary (no parameters, no body) yields the same request over
  // and over: it is sent once per distinct form.
  const seen = new Set<string>();
  return fc
    .sample(validDraft(operation, context), { seed, numRuns: count })
    .filter((draft) => {
      const key = JSON.stringify(draft, (_, value: unknown) =>
        value instanceof Uint8Array ? Buffer.from(value).toString('base64') : value,
      );
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .map((draft) => ({ operation, kind: 'valid', refused: false, draft }));
}
