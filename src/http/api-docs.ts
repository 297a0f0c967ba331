import express from 'express';
import type { Router } from 'express';
import swaggerUi from 'swagger-ui-express';
import type { OpenApiDocument } from './contract.ts';

type Json = Record<string, unknown>;

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function errorCodesSection(codes: string[], statuses: Json, meanings: Json): string {
  const lines = codes.map((code) => {
    const meaning = typeof meanings[code] === 'string' ? `: ${meanings[code].trim()}` : '';
    return `- \`${code}\` (${String(statuses[code])})${meaning}`;
  });
  return ['**Error codes** (`x-error-codes`):', '', ...lines].join('\n');
}

/**
 * The contract as people read it at /openapi.json and in Swagger UI. Each operation's
 * description ends with the error codes it can return, with their status and meaning, which
 * Swagger UI would otherwise not show; and the one server is the origin serving the document,
 * so "Try it out" calls this very server, with its cookies, by whatever host and port it was
 * reached. A copy: the validator keeps the contract as written.
 */
export function readerContract(contract: OpenApiDocument): OpenApiDocument {
  const copy = structuredClone(contract);
  const schemas = isObject(copy.components) ? copy.components.schemas : undefined;
  const errorCode = isObject(schemas) && isObject(schemas.ErrorCode) ? schemas.ErrorCode : {};
  const statuses = isObject(errorCode['x-error-statuses']) ? errorCode['x-error-statuses'] : {};
  const meanings = isObject(errorCode['x-error-descriptions'])
    ? errorCode['x-error-descriptions']
    : {};
  for (const pathItem of Object.values(copy.paths)) {
    if (!isObject(pathItem)) continue;
    for (const method of HTTP_METHODS) {
      const operation = pathItem[method];
      if (!isObject(operation) || !Array.isArray(operation['x-error-codes'])) continue;
      const codes = operation['x-error-codes'].filter((c): c is string => typeof c === 'string');
      if (codes.length === 0) continue;
      const description = typeof operation.description === 'string' ? operation.description : '';
      operation.description = [description.trimEnd(), errorCodesSection(codes, statuses, meanings)]
        .filter((part) => part !== '')
        .join('\n\n');
    }
  }
  copy.servers = [{ url: '/', description: 'This server' }];
  return copy;
}

/** /openapi.json and Swagger UI at /docs. */
export function apiDocs(contract: OpenApiDocument): Router {
  const document = readerContract(contract);
  const router = express.Router();
  router.get('/openapi.json', (_req, res) => {
    res.json(document);
  });
  router.use(
    '/docs',
    swaggerUi.serve,
    swaggerUi.setup(undefined, {
      swaggerUrl: '/openapi.json',
      customSiteTitle: 'ExpressKit API',
      swaggerOptions: {
        // The page and the API share an origin (the served contract's server is `/`), where
        // fetch sends cookies anyway; this keeps the session cookie riding along when the page
        // is served from another origin than the API (fetch `credentials: 'include'`).
        withCredentials: true,
      },
    }),
  );
  return router;
}
