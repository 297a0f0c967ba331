import type { RequestHandler } from 'express';
import type { OpenApiDocument } from '../contract.ts';
import { AppError } from '../../shared/errors/app-error.ts';

const BRACKET = /[[\]]/;

/**
 * The contract validator reads a query key `a[b]` as the nested key `b` of `a`, and drops a
 * bracketed key it cannot read that way (`[x]`, `a&b[c]` once decoded) instead of refusing it
 * as an unknown parameter: the request reached its handler with a parameter the contract
 * forbids silently ignored. No query parameter of the contract has a bracket in its name or
 * the deepObject style, so every bracketed key is unknown: refused here, ahead of the
 * validator, with the validator's own wording.
 */
export function refuseBracketedQueryKeys(contract: OpenApiDocument): RequestHandler {
  // Inline parameters and the shared ones; a `$ref` entry is one of the shared ones.
  const shared = (contract.components as { parameters?: Record<string, unknown> } | undefined)
    ?.parameters;
  const readsBrackets = Object.values(contract.paths)
    .flatMap((item) => Object.values(item as Record<string, { parameters?: unknown[] }>))
    .flatMap((operation) => operation.parameters ?? [])
    .concat(Object.values(shared ?? {}))
    .some((raw) => {
      const parameter = raw as { in?: string; name?: string; style?: string };
      return (
        parameter.in === 'query' &&
        (BRACKET.test(parameter.name ?? '') || parameter.style === 'deepObject')
      );
    });
  if (readsBrackets) {
    throw new Error('A query parameter reads brackets: refuseBracketedQueryKeys would refuse it');
  }
  return (req, _res, next) => {
    // Without a query string there is no key to read (and req.query would parse one anyway).
    if (!req.url.includes('?')) return next();
    const failing = Object.keys(req.query as Record<string, unknown>)
      .filter((key) => BRACKET.test(key))
      .map((key) => `query.${key} Unknown query parameter '${key}'`);
    if (failing.length > 0) throw new AppError('general:validation_error', failing.join('; '));
    next();
  };
}
