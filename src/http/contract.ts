import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const contractPath = fileURLToPath(new URL('../../openapi.yaml', import.meta.url));

export type OpenApiDocument = Record<string, unknown> & { paths: Record<string, unknown> };

/**
 * Read once at start. The validator uses this object as written; /openapi.json and /docs serve
 * a reader's copy of it (http/api-docs.ts).
 */
export function loadContract(path = contractPath): OpenApiDocument {
  return parse(readFileSync(path, 'utf8')) as OpenApiDocument;
}
