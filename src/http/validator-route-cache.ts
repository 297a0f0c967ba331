import { createRequire } from 'node:module';

type PathToRegexp = (path: string, options?: Record<string, unknown>) => unknown;

/**
 * express-openapi-validator 5.6 finds a request's operation by compiling a path-to-regexp
 * pattern for every route of the contract on every request: with ~40 paths that was the
 * largest single cost of the pipeline. It calls `pathToRegexp` through the module's exports
 * object, so memoising that export (the same instance the validator resolves) removes the
 * cost without forking the library. Compiled patterns are plain non-global RegExps, so
 * sharing them between requests is safe.
 */
export function memoiseValidatorRouteRegexps(): void {
  const requireFromValidator = createRequire(import.meta.resolve('express-openapi-validator'));
  const module = requireFromValidator('path-to-regexp') as {
    pathToRegexp: PathToRegexp & { memoised?: true };
  };
  if (module.pathToRegexp.memoised) return;
  const original = module.pathToRegexp;
  const cache = new Map<string, unknown>();
  const memoised: PathToRegexp & { memoised?: true } = (path, options) => {
    // The validator passes a string and {sensitive, strict}: a cheap key for the hot path.
    const key =
      typeof path === 'string'
        ? `${options?.sensitive ? 1 : 0}${options?.strict ? 1 : 0}${path}`
        : JSON.stringify([path, options ?? {}]);
    let compiled = cache.get(key);
    if (compiled === undefined) {
      compiled = original(path, options);
      cache.set(key, compiled);
    }
    return compiled;
  };
  memoised.memoised = true;
  module.pathToRegexp = memoised;
}
