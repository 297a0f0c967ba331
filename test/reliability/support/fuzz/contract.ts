import { loadContract, type OpenApiDocument } from '../../../../src/http/contract.ts';

import type { Schema } from '../../../support/contract-schema-check.ts';

export type { Schema };

export interface FuzzParameter {
  name: string;
  in: 'query' | 'path' | 'header';
  required: boolean;
  schema: Schema;
}

export interface FuzzBody {
  mediaType: string;
  schema: Schema;
  required: boolean;
}

export interface FuzzResponse {
  mediaType: string | undefined;
  schema: Schema | undefined;
}

/** One operation of openapi.yaml, in the terms the fuzzer needs. */
export interface FuzzOperation {
  operationId: string;
  method: 'get' | 'post' | 'patch' | 'delete' | 'put';
  path: string;
  parameters: FuzzParameter[];
  body: FuzzBody | undefined;
  /** The operation requires the session cookie. */
  needsSession: boolean;
  /** Declared in `x-rate-limit`: its valid requests are costly credential checks or mails. */
  rateLimited: boolean;
  /** Probes are served ahead of the API pipeline and validate nothing. */
  probe: boolean;
  /** The codes its `x-error-codes` lists. */
  errorCodes: ReadonlySet<string>;
  /** Declared responses by status. */
  responses: ReadonlyMap<number, FuzzResponse>;
  mutates: boolean;
}

export interface FuzzContract {
  document: OpenApiDocument;
  operations: FuzzOperation[];
  /** Every catalogue code with its status (`x-error-statuses` of `ErrorCode`). */
  errorStatuses: ReadonlyMap<string, number>;
  /** Follows `$ref`s until a schema that is not one. */
  resolve: (schema: Schema) => Schema;
}

function pointer(document: OpenApiDocument, ref: string): Schema {
  if (!ref.startsWith('#/')) throw new Error(`Only local $refs are supported: ${ref}`);
  let node: unknown = document;
  for (const part of ref.slice(2).split('/')) {
    node = (node as Record<string, unknown>)[part.replaceAll('~1', '/').replaceAll('~0', '~')];
  }
  if (!node) throw new Error(`Unresolved $ref ${ref}`);
  return node as Schema;
}

export function loadFuzzContract(): FuzzContract {
  const document = loadContract();
  const resolve = (schema: Schema): Schema => {
    let node = schema;
    while (typeof node.$ref === 'string') node = pointer(document, node.$ref);
    return node;
  };
  const codeSchema = resolve({ $ref: '#/components/schemas/ErrorCode' });
  const errorStatuses = new Map(
    Object.entries(codeSchema['x-error-statuses'] as Record<string, number>),
  );

  const operations: FuzzOperation[] = [];
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, raw] of Object.entries(item as Record<string, Schema>)) {
      if (!raw.operationId) continue;
      const parameters = ((raw.parameters as Schema[] | undefined) ?? []).map((p) => {
        const parameter = resolve(p);
        return {
          name: parameter.name as string,
          in: parameter.in as FuzzParameter['in'],
          required: parameter.required === true,
          schema: parameter.schema as Schema,
        };
      });
      const requestBody = raw.requestBody ? resolve(raw.requestBody as Schema) : undefined;
      const [mediaType, media] = Object.entries(
        (requestBody?.content as Record<string, Schema> | undefined) ?? {},
      )[0] ?? [undefined, undefined];
      const responses = new Map<number, FuzzResponse>();
      for (const [status, response] of Object.entries(raw.responses as Record<string, Schema>)) {
        const content = resolve(response).content as Record<string, Schema> | undefined;
        const [type, body] = Object.entries(content ?? {})[0] ?? [undefined, undefined];
        responses.set(Number(status), { mediaType: type, schema: body?.schema as Schema });
      }
      const security = raw.security as unknown[] | undefined;
      operations.push({
        operationId: raw.operationId as string,
        method: method as FuzzOperation['method'],
        path,
        parameters,
        body: mediaType
          ? { mediaType, schema: media.schema as Schema, required: requestBody?.required === true }
          : undefined,
        needsSession: (security ?? []).length > 0,
        rateLimited: raw['x-rate-limit'] !== undefined,
        probe: raw['x-probe'] === true,
        errorCodes: new Set((raw['x-error-codes'] as string[] | undefined) ?? []),
        responses,
        mutates: method !== 'get',
      });
    }
  }
  return { document, operations, errorStatuses, resolve };
}
