import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { OpenApiDocument } from '../../src/http/contract.ts';
import { contractFormats } from '../../src/http/formats.ts';

/** A JSON Schema node of the contract, `$ref`s left in place. */
export type Schema = Record<string, unknown>;

const CONTRACT_ID = 'contract.json';

export interface SchemaCheck {
  /** The contract's errors for a JSON value (a body field, a response body); [] when valid. */
  errors(schema: Schema, value: unknown): string[];
  /** The same for a parameter's raw string, coerced as the request validator coerces it. */
  parameterErrors(schema: Schema, raw: string): string[];
}

/**
 * JSON Schema checks against the contract, with the formats the request validator uses
 * (ajv-formats in its fast mode, and the app's own): the fuzzer judges its own inputs valid or
 * invalid with them and checks every 2xx body; the event-stream tests check every frame.
 */
export function createSchemaCheck(document: OpenApiDocument): SchemaCheck {
  const make = (coerceTypes: boolean) => {
    const ajv = new Ajv2020({ strict: false, allErrors: false, coerceTypes });
    addFormats.default(ajv, { mode: 'fast' });
    for (const [name, format] of Object.entries(contractFormats)) ajv.addFormat(name, format);
    ajv.addFormat('binary', true);
    ajv.addSchema({ $id: CONTRACT_ID, components: document.components });
    return ajv;
  };
  const plain = make(false);
  const coercing = make(true);
  const compiled = new WeakMap<Schema, { plain?: ValidateFunction; coercing?: ValidateFunction }>();
  // A schema taken out of the document keeps its `#/components/...` refs: anchor them to it.
  const anchored = (schema: Schema): Schema =>
    JSON.parse(
      JSON.stringify(schema).replaceAll('"$ref":"#/', `"$ref":"${CONTRACT_ID}#/`),
    ) as Schema;
  const validator = (schema: Schema, kind: 'plain' | 'coercing') => {
    const entry = compiled.get(schema) ?? {};
    compiled.set(schema, entry);
    if (kind === 'plain') entry.plain ??= plain.compile(anchored(schema));
    else {
      entry.coercing ??= coercing.compile({
        type: 'object',
        properties: { value: anchored(schema) },
        required: ['value'],
      });
    }
    return entry[kind]!;
  };
  const messages = (validate: ValidateFunction) =>
    (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
  return {
    errors(schema, value) {
      const validate = validator(schema, 'plain');
      return validate(value) ? [] : messages(validate);
    },
    parameterErrors(schema, raw) {
      const validate = validator(schema, 'coercing');
      return validate({ value: raw }) ? [] : messages(validate);
    },
  };
}
