import fc from 'fast-check';
import { imageKinds } from '../../../../src/modules/users/user-images.kinds.ts';
import type { FuzzOperation, Schema } from './contract.ts';
import { clone, type Draft, type MultipartPart, type Mutation } from './draft.ts';
import { deeplyNested, deeplyNestedText, invalidValue } from './invalid-values.ts';
import { partsAsObject, type CaseContext } from './valid-drafts.ts';

const JSON_LIMIT_BYTES = 1024 * 1024;
const NESTINGS: [number, 'array' | 'object'][] = [
  [10, 'array'],
  [1000, 'object'],
  [5000, 'array'],
  [50_000, 'object'],
];

/**
 * The upload limit of each upload operation, as src/app.ts mounts them. An oversize upload goes
 * over its own limit by one byte: the route reads the body up to its limit and answers 413
 * while the client waits for it. A body announced far over the limit is refused unread and the
 * connection closed under the client's writes, which loses the answer to the client's own
 * write error (test/users/images-limits.test.ts covers those).
 */
const UPLOAD_LIMIT_BYTES: Record<string, number> = {
  uploadProfileImage: imageKinds.profile.maxBytes,
  uploadBannerImage: imageKinds.banner.maxBytes,
};

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

/** Each way to break a request's body: per field, as a whole, and in how it is sent. */
export function bodyMutations(
  operation: FuzzOperation,
  context: CaseContext,
): fc.Arbitrary<(d: Draft) => Mutation>[] {
  const { check, contract } = context;
  const list: fc.Arbitrary<(d: Draft) => Mutation>[] = [];
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
            () => deeplyNestedText(depth, shape),
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
          const rest = JSON.stringify(asJson(draft)).slice(1);
          const field = `${JSON.stringify(name)}:${JSON.stringify(value)}`;
          const text = `{${field}${rest === '}' ? '' : ','}${rest}`;
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
    const boundaryOf = (draft: Draft) =>
      draft.body?.kind === 'multipart' ? draft.body.boundary : 'fuzz';
    const withParts =
      (kind: string, parts: MultipartPart[]) =>
      (draft: Draft): Mutation => ({
        kind,
        draft: { ...clone(draft), body: { kind: 'multipart', parts, boundary: boundaryOf(draft) } },
        refused: check.errors(body.schema, partsAsObject(parts)).length > 0,
      });
    const limit = UPLOAD_LIMIT_BYTES[operation.operationId];
    if (limit === undefined) throw new Error(`No upload limit known for ${operation.operationId}`);
    list.push(fc.constant((draft: Draft) => withParts('upload without parts', [])(draft)));
    list.push(
      fc.constant((draft: Draft): Mutation => ({
        ...withParts(
          'upload over the size limit',
          asParts(draft).map((part) =>
            typeof part.value === 'string' ? part : { ...part, value: Buffer.alloc(limit + 1, 1) },
          ),
        )(draft),
        refused: true,
        code: 'file:too_large',
      })),
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
    // The reader leaves a text part under the file's name out: the validator finds it missing.
    list.push(
      fc.constant((draft: Draft): Mutation => ({
        ...withParts(
          'upload parts as text',
          asParts(draft).map((p) => ({ name: p.name, value: 'text' })),
        )(draft),
        refused: true,
        code: 'general:validation_error',
      })),
    );
    list.push(
      fc.constant((draft: Draft) => ({
        kind: 'upload cut before its closing boundary',
        draft: {
          ...clone(draft),
          body: {
            kind: 'multipart',
            parts: asParts(draft),
            boundary: boundaryOf(draft),
            truncated: true,
          },
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
          // The request's own valid JSON where it takes JSON: only the type is wrong.
          body: {
            kind: 'raw',
            bytes: Buffer.from(
              draft.body?.kind === 'json' ? JSON.stringify(draft.body.value) : '{"file":"x"}',
            ),
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
