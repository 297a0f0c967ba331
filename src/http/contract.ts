import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const contractPath = fileURLToPath(new URL('../../openapi.yaml', import.meta.url));

export type OpenApiDocument = Record<string, unknown> & { paths: Record<string, unknown> };

/** Read once at start: the validator, /openapi.json and /docs all serve this same object. */
export function loadContract(path = contractPath): OpenApiDocument {
  return parse(readFileSync(path, 'utf8')) as OpenApiDocument;
}
