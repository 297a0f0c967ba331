import type { multipartOperations } from './generated/contract.ts';
import type { operations } from './generated/openapi.ts';

export type MultipartOperationId = keyof typeof multipartOperations;

type FileField<Id extends MultipartOperationId> = (typeof multipartOperations)[Id]['files'][number];

type ContractBody<Id extends MultipartOperationId> = operations[Id] extends {
  requestBody: { content: { 'multipart/form-data': infer Body } };
}
  ? Body
  : never;

/**
 * The multipart body of an upload operation: the contract's fields, with each binary field
 * (typed `string` by openapi-typescript) taking a Blob or File instead.
 */
export type MultipartBody<Id extends MultipartOperationId> = {
  [Field in keyof ContractBody<Id>]: Field extends FileField<Id>
    ? ContractBody<Id>[Field] extends readonly unknown[]
      ? Blob[]
      : Blob
    : ContractBody<Id>[Field];
};

function appendField(form: FormData, name: string, value: unknown): void {
  if (value === undefined) return;
  if (value instanceof Blob) form.append(name, value);
  else form.append(name, typeof value === 'string' ? value : JSON.stringify(value));
}

/** Builds the FormData for a multipart body; a list field becomes one part per item. */
export function toFormData(body: Record<string, unknown>): FormData {
  const form = new FormData();
  for (const [name, value] of Object.entries(body)) {
    if (Array.isArray(value)) {
      for (const item of value) appendField(form, name, item);
    } else {
      appendField(form, name, value);
    }
  }
  return form;
}
