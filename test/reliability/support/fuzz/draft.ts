import type { FuzzOperation } from './contract.ts';
import { multipartBody, percentEncode, queryString, type FuzzRequest } from './request.ts';

export interface MultipartPart {
  name: string;
  value: string | Uint8Array;
  filename?: string;
  type?: string;
}

export type DraftBody =
  | { kind: 'json'; value: unknown }
  | { kind: 'multipart'; parts: MultipartPart[]; boundary: string; truncated?: boolean }
  | { kind: 'raw'; bytes: Buffer; contentType?: string };

/** Who the request is sent as: the fuzz user's session, nobody, or a forged cookie. */
export type Caller = 'user' | 'anonymous' | 'forged';

/** A request before it is put on the wire: what the generator and the mutations work on. */
export interface Draft {
  pathParams: Record<string, string>;
  /** Path parameters that go unencoded (broken percent-encoding on purpose). */
  rawPathParams?: string[];
  /** Query entries in order; `raw` ones go unencoded (broken percent-encoding on purpose). */
  query: { name: string; value: string; raw?: boolean }[];
  /** Header parameters, already in the form Node can send (see headerSafe). */
  headers: Record<string, string>;
  body: DraftBody | undefined;
  caller: Caller;
}

/** A valid request broken one way, and whether the contract refuses the result. */
export interface Mutation {
  kind: string;
  draft: Draft;
  /** Undefined when the contract leaves it open (a duplicated key, invalid UTF-8 in a string). */
  refused?: boolean;
  /** Who refuses it when not its shape: requireSession, for a caller without a session. */
  by?: 'session';
  /** The one code the kit refuses it with, where a single one fits. */
  code?: string;
  /** A path parameter was changed, possibly out of its template. */
  pathMutated?: boolean;
}

export const clone = (draft: Draft): Draft => structuredClone(draft);

/** The bytes of a draft's body and the Content-Type that goes with them. */
function encodeBody(body: DraftBody): { bytes: Buffer; contentType?: string } {
  switch (body.kind) {
    case 'json':
      return {
        bytes: Buffer.from(JSON.stringify(body.value) ?? ''),
        contentType: 'application/json',
      };
    case 'raw':
      return body;
    case 'multipart': {
      const { body: bytes, contentType } = multipartBody(body.parts, body.boundary);
      // A body cut before its closing boundary: the parser must refuse it, not wait for more.
      return { bytes: body.truncated ? bytes.subarray(0, bytes.length - 12) : bytes, contentType };
    }
  }
}

export function toRequest(operation: FuzzOperation, draft: Draft): FuzzRequest {
  const path = operation.path.replace(/\{([^}]+)\}/g, (_, name: string) =>
    draft.rawPathParams?.includes(name)
      ? draft.pathParams[name]!
      : percentEncode(draft.pathParams[name] ?? ''),
  );
  const rawQuery = draft.query.some((entry) => entry.raw);
  const target =
    path +
    (rawQuery
      ? `?${draft.query.map((e) => `${percentEncode(e.name)}=${e.raw ? e.value : percentEncode(e.value)}`).join('&')}`
      : queryString(draft.query.map((e) => [e.name, e.value])));
  const headers = { ...draft.headers };
  if (!draft.body) return { method: operation.method.toUpperCase(), target, headers };
  const { bytes, contentType } = encodeBody(draft.body);
  if (contentType) headers['content-type'] = contentType;
  return { method: operation.method.toUpperCase(), target, headers, body: bytes };
}
